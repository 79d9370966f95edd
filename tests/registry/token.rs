//! A small token service for distribution's `auth: token`: it checks Basic credentials and
//! answers a JWT (RS256, signed with `openssl dgst`, its certificate in the `x5c` header) that
//! grants the scope asked for. The registry trusts the signing certificate
//! (`rootcertbundle`).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use base64::Engine;

use super::fake::FakeRegistry;
use super::kit::{PASSWORD, USER};

pub const SERVICE: &str = "pyslim-test-registry";
pub const ISSUER: &str = "pyslim-test-issuer";

pub struct TokenService {
    pub server: FakeRegistry,
    /// The signing certificate (PEM), for the registry's `rootcertbundle`.
    pub cert: PathBuf,
}

impl TokenService {
    pub fn start(dir: &Path) -> TokenService {
        let openssl = |args: &[&str]| {
            let out = Command::new("openssl")
                .args(args)
                .current_dir(dir)
                .output()
                .expect("openssl");
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
        };
        openssl(&[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "token.key",
            "-out",
            "token.pem",
            "-days",
            "2",
            "-subj",
            "/CN=pyslim token signer",
        ]);
        openssl(&[
            "x509",
            "-in",
            "token.pem",
            "-outform",
            "DER",
            "-out",
            "token.der",
        ]);
        let der = std::fs::read(dir.join("token.der")).expect("token.der");
        let key = dir.join("token.key");
        let x5c = base64::engine::general_purpose::STANDARD.encode(der);
        let expected = format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(format!("{USER}:{PASSWORD}"))
        );
        let server = FakeRegistry::serve_with(Box::new(move |path, authorization| {
            if authorization != Some(expected.as_str()) {
                return (
                    401,
                    "application/json".into(),
                    br#"{"details":"no"}"#.to_vec(),
                );
            }
            let Some(query) = path.strip_prefix("/token?") else {
                return (404, "text/plain".into(), Vec::new());
            };
            let token = sign(&x5c, &key, &access(query));
            let body = serde_json::json!({"token": token, "expires_in": 300});
            (
                200,
                "application/json".into(),
                body.to_string().into_bytes(),
            )
        }));
        TokenService {
            server,
            cert: dir.join("token.pem"),
        }
    }

    pub fn realm(&self) -> String {
        format!("http://{}/token", self.server.host())
    }
}

/// The `access` claim: everything each `scope=repository:NAME:ACTIONS` asks for.
fn access(query: &str) -> serde_json::Value {
    let grants: Vec<serde_json::Value> = query
        .split('&')
        .filter_map(|kv| kv.strip_prefix("scope="))
        .map(decode)
        .filter_map(|scope| {
            let mut parts = scope.splitn(3, ':');
            let (kind, name, actions) = (parts.next()?, parts.next()?, parts.next()?);
            Some(serde_json::json!({
                "type": kind,
                "name": name,
                "actions": actions.split(',').collect::<Vec<_>>(),
            }))
        })
        .collect();
    serde_json::Value::Array(grants)
}

fn decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or("00");
                out.push(u8::from_str_radix(hex, 16).unwrap_or(b'?'));
                i += 3;
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn sign(x5c: &str, key: &Path, access: &serde_json::Value) -> String {
    let b64 = |v: &serde_json::Value| {
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string())
    };
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let header = serde_json::json!({"alg": "RS256", "typ": "JWT", "x5c": [x5c]});
    let claims = serde_json::json!({
        "iss": ISSUER, "sub": USER, "aud": SERVICE,
        "exp": now + 300, "nbf": now - 10, "iat": now, "jti": format!("t{now}"),
        "access": access,
    });
    let input = format!("{}.{}", b64(&header), b64(&claims));
    let mut child = Command::new("openssl")
        .args(["dgst", "-sha256", "-sign"])
        .arg(key)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("openssl dgst");
    if let Some(mut stdin) = child.stdin.take() {
        let _ = stdin.write_all(input.as_bytes());
    }
    let out = child.wait_with_output().expect("signature");
    let signature = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(out.stdout);
    format!("{input}.{signature}")
}
