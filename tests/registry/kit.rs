//! A real registry for the tests: Debian's `docker-registry` (the CNCF distribution
//! registry) on 127.0.0.1, on a free port, with its storage in a temp dir, stopped when
//! dropped; images pushed with `skopeo copy` from the OCI layouts the test kit writes.

use std::io::Write;
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

pub const USER: &str = "ci-user";
pub const PASSWORD: &str = "pa55-w0rd-never-printed";

/// Whether docker-registry, skopeo, htpasswd and openssl are here. Tests that need them skip with a printed
/// reason when they are not, unless PYSLIM_REQUIRE_REGISTRY=1, when they fail instead.
pub fn tools_or_skip(test: &str) -> bool {
    let path = std::env::var_os("PATH").unwrap_or_default();
    let missing: Vec<&str> = ["docker-registry", "skopeo", "htpasswd", "openssl"]
        .into_iter()
        .filter(|tool| !std::env::split_paths(&path).any(|dir| dir.join(tool).is_file()))
        .collect();
    if missing.is_empty() {
        return true;
    }
    let why = format!(
        "{} missing (apt-get install docker-registry skopeo apache2-utils openssl)",
        missing.join(" and ")
    );
    if std::env::var("PYSLIM_REQUIRE_REGISTRY").as_deref() == Ok("1") {
        panic!("{test}: PYSLIM_REQUIRE_REGISTRY=1 but {why}");
    }
    eprintln!("skipping {test}: {why} (set PYSLIM_REQUIRE_REGISTRY=1 to fail instead)");
    false
}

/// How a registry is set up.
#[derive(Default)]
pub struct Setup {
    /// htpasswd Basic auth with USER and PASSWORD.
    pub basic_auth: bool,
    /// TLS with this certificate and key (PEM files).
    pub tls: Option<(PathBuf, PathBuf)>,
    /// distribution's `auth: token`: (realm URL, service, issuer, signing certificate).
    pub token: Option<(String, String, String, PathBuf)>,
}

pub struct Registry {
    child: Child,
    pub port: u16,
    dir: tempfile::TempDir,
    creds: bool,
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

impl Registry {
    pub fn start(setup: Setup) -> Registry {
        let dir = tempfile::tempdir().expect("temp dir");
        let port = free_port();
        let mut config = format!(
            "version: 0.1\nlog:\n  level: error\n  accesslog:\n    disabled: true\nstorage:\n  filesystem:\n    rootdirectory: {}\n  delete:\n    enabled: true\nhttp:\n  addr: 127.0.0.1:{port}\n",
            dir.path().join("data").display()
        );
        if let Some((cert, key)) = &setup.tls {
            config.push_str(&format!(
                "  tls:\n    certificate: {}\n    key: {}\n",
                cert.display(),
                key.display()
            ));
        }
        if setup.basic_auth {
            let line = Command::new("htpasswd")
                .args(["-Bbn", USER, PASSWORD])
                .output()
                .expect("htpasswd (apache2-utils)");
            assert!(line.status.success(), "htpasswd failed");
            let file = dir.path().join("htpasswd");
            std::fs::write(&file, &line.stdout).expect("write htpasswd");
            config.push_str(&format!(
                "auth:\n  htpasswd:\n    realm: pyslim-test\n    path: {}\n",
                file.display()
            ));
        }
        if let Some((realm, service, issuer, cert)) = &setup.token {
            config.push_str(&format!(
                "auth:\n  token:\n    realm: {realm}\n    service: {service}\n    issuer: {issuer}\n    rootcertbundle: {}\n",
                cert.display()
            ));
        }
        let config_path = dir.path().join("config.yml");
        std::fs::write(&config_path, config).expect("write config");
        let log = std::fs::File::create(dir.path().join("registry.log")).expect("log");
        let child = Command::new("docker-registry")
            .arg("serve")
            .arg(&config_path)
            .stdout(log.try_clone().expect("log"))
            .stderr(log)
            .spawn()
            .expect("start docker-registry");
        let mut registry = Registry {
            child,
            port,
            dir,
            creds: setup.basic_auth || setup.token.is_some(),
        };
        registry.wait_ready();
        registry
    }

    fn wait_ready(&mut self) {
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(15) {
            if TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
                return;
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("docker-registry exited ({status}): {}", self.log());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("docker-registry did not listen within 15 s: {}", self.log());
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("registry.log")).unwrap_or_default()
    }

    /// `127.0.0.1:PORT`
    pub fn host(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// Pushes an OCI layout (every platform of an index with `all`) as `repo:tag`.
    pub fn push(&self, layout: &Path, repo_tag: &str, all: bool) {
        let mut cmd = Command::new("skopeo");
        cmd.args([
            "--insecure-policy",
            "copy",
            "--quiet",
            "--dest-tls-verify=false",
        ]);
        if all {
            cmd.arg("--all");
        }
        if self.creds {
            cmd.arg(format!("--dest-creds={USER}:{PASSWORD}"));
        }
        let out = cmd
            .arg(format!("oci:{}", layout.display()))
            .arg(format!("docker://{}/{repo_tag}", self.host()))
            .output()
            .expect("run skopeo");
        assert!(
            out.status.success(),
            "skopeo copy to {repo_tag} failed: {}\nregistry log: {}",
            String::from_utf8_lossy(&out.stderr),
            self.log()
        );
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `pyslim ARGS` with no daemon (so a name goes to its registry), no docker login of this
/// machine's, and none of the credential variables of the environment.
pub fn pyslim(args: &[&str], env: &[(&str, &str)], stdin: Option<&str>) -> Output {
    let empty_config = tempfile::tempdir().expect("temp dir");
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_pyslim"));
    cmd.args(args)
        .env(
            "DOCKER_HOST",
            "unix:///nonexistent/pyslim-registry-test.sock",
        )
        .env("DOCKER_CONFIG", empty_config.path())
        .env_remove("PYSLIM_REGISTRY_USERNAME")
        .env_remove("PYSLIM_REGISTRY_PASSWORD")
        .env("PYSLIM_REGISTRY_TIMEOUT", "20")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().expect("run pyslim");
    if let Some(mut input) = child.stdin.take() {
        if let Some(text) = stdin {
            let _ = input.write_all(text.as_bytes());
        }
    }
    child.wait_with_output().expect("pyslim output")
}

/// `analyze --json` of a reference, with the two fields that name the source set aside.
pub fn analyze_json(args: &[&str], env: &[(&str, &str)]) -> (serde_json::Value, String) {
    let mut all = vec!["analyze", "--json"];
    all.extend_from_slice(args);
    let out = pyslim(&all, env, None);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "pyslim {}: {stderr}", all.join(" "));
    let mut json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    json["image"]["reference"] = serde_json::Value::Null;
    json["image"]["source"] = serde_json::Value::Null;
    (json, stderr)
}

/// The one line a failing pyslim prints (exit 2), with the secret checked absent.
pub fn error_line(out: &Output) -> String {
    let text = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(2), "exit 2: {text}");
    assert!(!text.contains(PASSWORD), "the password leaked: {text}");
    let lines: Vec<&str> = text.trim_end().lines().collect();
    assert!(!lines.is_empty(), "an error line");
    lines.last().map(|l| l.to_string()).unwrap_or_default()
}

/// The first line where two JSON documents differ, for a readable failure.
pub fn assert_same_json(got: &serde_json::Value, want: &serde_json::Value, what: &str) {
    if got == want {
        return;
    }
    let a = serde_json::to_string_pretty(got).unwrap_or_default();
    let b = serde_json::to_string_pretty(want).unwrap_or_default();
    let first = a
        .lines()
        .zip(b.lines())
        .position(|(x, y)| x != y)
        .unwrap_or(0);
    panic!(
        "{what}: differs from line {first}:\n{}\n---- expected:\n{}",
        a.lines()
            .skip(first)
            .take(10)
            .collect::<Vec<_>>()
            .join("\n"),
        b.lines()
            .skip(first)
            .take(10)
            .collect::<Vec<_>>()
            .join("\n")
    );
}

/// A test CA and a server certificate it signed for 127.0.0.1 (rustls refuses a CA
/// certificate as a server's own): (ca.pem, server cert, server key).
pub fn tls_files(dir: &Path) -> (PathBuf, PathBuf, PathBuf) {
    let run = |args: &[&str]| {
        let out = Command::new("openssl")
            .args(args)
            .current_dir(dir)
            .output()
            .expect("openssl");
        assert!(
            out.status.success(),
            "openssl {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr)
        );
    };
    let ec = [
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
    ];
    let mut ca = vec!["req", "-x509"];
    ca.extend(ec);
    ca.extend([
        "-keyout",
        "ca.key",
        "-out",
        "ca.pem",
        "-days",
        "2",
        "-subj",
        "/CN=pyslim test CA",
        "-addext",
        "basicConstraints=critical,CA:TRUE",
        "-addext",
        "keyUsage=critical,keyCertSign,cRLSign",
    ]);
    run(&ca);
    let mut csr = vec!["req"];
    csr.extend(ec);
    csr.extend([
        "-keyout",
        "server.key",
        "-out",
        "server.csr",
        "-subj",
        "/CN=127.0.0.1",
    ]);
    run(&csr);
    std::fs::write(
        dir.join("server.ext"),
        "subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature\nextendedKeyUsage=serverAuth\n",
    )
    .expect("write ext");
    run(&[
        "x509",
        "-req",
        "-in",
        "server.csr",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-out",
        "server.pem",
        "-days",
        "2",
        "-extfile",
        "server.ext",
    ]);
    (
        dir.join("ca.pem"),
        dir.join("server.pem"),
        dir.join("server.key"),
    )
}
