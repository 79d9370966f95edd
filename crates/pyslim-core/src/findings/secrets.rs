//! Tells a credential from a harmless file by its content, without ever keeping or showing
//! the secret itself: a public CA certificate is not a secret; a private key is.

/// The kind of secret a file holds, if any. `name` is the file name, `text` its first bytes.
pub fn classify(path: &str, text: &[u8]) -> Option<&'static str> {
    let name = path.rsplit('/').next().unwrap_or(path);
    let s = String::from_utf8_lossy(text);
    if s.contains("PRIVATE KEY-----") || s.contains("PRIVATE KEY BLOCK-----") {
        return Some("private key");
    }
    let lower = s.to_lowercase();
    let has_assignment = |keys: &[&str]| {
        lower.lines().any(|l| {
            let l = l.trim();
            keys.iter().any(|k| {
                l.strip_prefix(k)
                    .map(|rest| rest.trim_start())
                    .and_then(|rest| {
                        rest.strip_prefix('=')
                            .or_else(|| rest.strip_prefix(':'))
                            .or(Some(rest))
                    })
                    .is_some_and(|v| !v.trim().trim_matches('"').is_empty())
            })
        })
    };
    let url_credentials = || {
        lower.split_whitespace().any(|w| {
            w.split_once("://")
                .and_then(|(_, rest)| rest.split('/').next())
                .is_some_and(|host| {
                    host.contains('@') && host.split('@').next().is_some_and(|u| u.contains(':'))
                })
        })
    };
    match name {
        ".netrc" | "_netrc" if lower.contains("password") => return Some("netrc credentials"),
        ".pypirc" if has_assignment(&["password"]) => return Some("PyPI credentials"),
        "pip.conf" | "pip.ini" if url_credentials() || has_assignment(&["password"]) => {
            return Some("pip index credentials")
        }
        ".npmrc" | ".yarnrc"
            if lower.contains("_authtoken")
                || lower.contains("_auth")
                || lower.contains("_password") =>
        {
            return Some("npm token")
        }
        ".git-credentials" if url_credentials() => return Some("git credentials"),
        "credentials" if lower.contains("aws_secret_access_key") => return Some("AWS credentials"),
        ".pgpass" if !lower.trim().is_empty() => return Some("PostgreSQL password file"),
        ".my.cnf" if has_assignment(&["password"]) => return Some("MySQL credentials"),
        ".htpasswd" if lower.contains(':') => return Some("htpasswd hashes"),
        _ => {}
    }
    if path.ends_with(".docker/config.json") && lower.contains("\"auth\"") {
        return Some("registry credentials");
    }
    if path.ends_with(".kube/config")
        && (lower.contains("token:") || lower.contains("client-key-data"))
    {
        return Some("Kubernetes credentials");
    }
    if name.ends_with(".json")
        && (lower.contains("\"private_key\"") || lower.contains("\"client_secret\""))
    {
        return Some("cloud service-account key");
    }
    if name == ".env" || name.starts_with(".env.") || name.ends_with(".env") {
        let secretish = lower.lines().any(|l| {
            let Some((k, v)) = l.split_once('=') else {
                return false;
            };
            let v = v.trim().trim_matches('"').trim_matches('\'');
            !v.is_empty() && !v.starts_with("${") && SECRET_WORDS.iter().any(|w| k.contains(w))
                || v.split_once("://")
                    .is_some_and(|(_, r)| r.split('/').next().is_some_and(|h| h.contains('@')))
        });
        if secretish {
            return Some("environment file with credentials");
        }
    }
    if [".p12", ".pfx", ".jks", ".keystore"]
        .iter()
        .any(|s| name.ends_with(s))
        && !text.is_empty()
    {
        return Some("keystore");
    }
    None
}

/// Directory names that hold a test suite or its data.
const TEST_DIRS: &[&str] = &[
    "test",
    "tests",
    "testing",
    "idle_test",
    "testdata",
    "test_data",
];

/// Why a credential-like file is a known test fixture rather than a secret, if it is one:
/// it lies in CPython's test suite (`lib/python3.X/test/…`, `Lib/test/…` of a source tree)
/// or in the test directory of an installed package (`site-packages/PKG/…/tests/…`). These
/// keys are published with the sources they test. The same key anywhere else (the app's own
/// `tests/`, a home directory) is still a secret.
pub fn test_fixture(path: &str) -> Option<String> {
    let dirs: Vec<&str> = path.split('/').collect();
    let dirs = &dirs[..dirs.len().saturating_sub(1)];
    let is_test = |d: &&str| TEST_DIRS.contains(d);
    for (i, d) in dirs.iter().enumerate() {
        let after = &dirs[i + 1..];
        if *d == "Lib" && after.first() == Some(&"test") {
            return Some("CPython's test suite (source tree)".into());
        }
        let lib = i > 0 && matches!(dirs[i - 1], "lib" | "lib64");
        if !lib || !is_python_dir(d) {
            continue;
        }
        return match after.first() {
            Some(&("site-packages" | "dist-packages")) => {
                let package = after.get(1)?;
                after[1..]
                    .iter()
                    .any(is_test)
                    .then(|| format!("{package}'s tests, installed with the package"))
            }
            _ => after
                .iter()
                .any(is_test)
                .then(|| "CPython's test suite".to_owned()),
        };
    }
    None
}

/// `python3`, `python3.12`, `python2.7`: a Python library directory's name.
fn is_python_dir(name: &str) -> bool {
    name.strip_prefix("python").is_some_and(|v| {
        !v.is_empty()
            && v.split('.')
                .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
    })
}

/// Words in a variable name that mark its value as a credential.
pub const SECRET_WORDS: &[&str] = &[
    "password",
    "passwd",
    "secret",
    "token",
    "api_key",
    "apikey",
    "access_key",
    "private_key",
    "credential",
    "auth",
];

/// Names of `NAME=value` assignments in a history line or ENV list whose name marks a
/// credential and whose value is set. Returns names only.
pub fn secret_assignments(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    for word in text.split_whitespace() {
        let Some((k, v)) = word.split_once('=') else {
            continue;
        };
        let key = k.trim_start_matches("--build-arg").trim_start_matches('|');
        let lower = key.to_lowercase();
        let v = v.trim_matches('"').trim_matches('\'');
        if key.is_empty()
            || v.is_empty()
            || v.starts_with('$')
            || !key.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
        {
            continue;
        }
        if SECRET_WORDS.iter().any(|w| lower.contains(w)) && !out.contains(&key.to_owned()) {
            out.push(key.to_owned());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn private_keys_are_secrets_certificates_are_not() {
        let key = b"-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXk\n-----END OPENSSH PRIVATE KEY-----\n";
        assert_eq!(classify("root/.ssh/id_rsa", key), Some("private key"));
        let cert =
            b"-----BEGIN CERTIFICATE-----\nMIIDdzCCAl+gAwIBAgIE\n-----END CERTIFICATE-----\n";
        assert_eq!(
            classify("usr/lib/python3/dist-packages/certifi/cacert.pem", cert),
            None
        );
        assert_eq!(
            classify(
                "etc/ssl/private/server.key",
                b"-----BEGIN RSA PRIVATE KEY-----\n"
            ),
            Some("private key")
        );
    }

    #[test]
    fn config_files_with_and_without_credentials() {
        assert_eq!(
            classify(
                "root/.pip/pip.conf",
                b"[global]\nindex-url = https://user:s3cret@pypi.example/simple\n"
            ),
            Some("pip index credentials")
        );
        assert_eq!(
            classify(
                "etc/pip.conf",
                b"[global]\nindex-url = https://pypi.example/simple\n"
            ),
            None
        );
        assert_eq!(
            classify("root/.npmrc", b"//registry.npmjs.org/:_authToken=abc\n"),
            Some("npm token")
        );
        assert_eq!(
            classify(
                "root/.pypirc",
                b"[pypi]\nusername = __token__\npassword = pypi-AgEI\n"
            ),
            Some("PyPI credentials")
        );
        assert_eq!(
            classify("root/.netrc", b"machine x login u password p\n"),
            Some("netrc credentials")
        );
        assert_eq!(
            classify("app/.env", b"DEBUG=1\nDATABASE_URL=postgres://u:p@db/app\n"),
            Some("environment file with credentials")
        );
        assert_eq!(classify("app/.env", b"DEBUG=1\nPORT=8000\n"), None);
        assert_eq!(
            classify(
                "root/.aws/credentials",
                b"[default]\naws_access_key_id=AKIA\naws_secret_access_key=x\n"
            ),
            Some("AWS credentials")
        );
    }

    #[test]
    fn test_fixtures_are_known_places_in_python_library_trees() {
        let cpython = Some("CPython's test suite".to_owned());
        assert_eq!(
            test_fixture("usr/local/lib/python3.12/test/certdata/keycert.pem"),
            cpython
        );
        assert_eq!(test_fixture("usr/lib/python3.11/test/keycert.pem"), cpython);
        assert_eq!(
            test_fixture("usr/lib/python3.11/unittest/test/key.pem"),
            cpython
        );
        assert_eq!(
            test_fixture("opt/venv/lib/python3.11/site-packages/tornado/test/test.key").as_deref(),
            Some("tornado's tests, installed with the package")
        );
        assert!(test_fixture("usr/src/python/Lib/test/certdata/keycert.pem").is_some());
        for not in [
            "app/tests/key.pem",
            "root/.ssh/id_rsa",
            "usr/local/lib/python3.12/site-packages/app/secrets/key.pem",
            "usr/local/lib/python3.12/site-packages/tests",
            "usr/local/lib/python3.12/keycert.pem",
            "srv/lib/pythonic/test/key.pem",
            "usr/local/lib/python3.12/site-packages/pkg/test.pem",
        ] {
            assert_eq!(test_fixture(not), None, "{not}");
        }
    }

    #[test]
    fn history_assignments_name_the_secret_not_its_value() {
        let line = "|2 API_TOKEN=abc123 VERSION=1.2 /bin/sh -c pip install x";
        assert_eq!(secret_assignments(line), vec!["API_TOKEN"]);
        assert!(secret_assignments("ENV PASSWORD=$FROM_BUILD").is_empty());
    }
}
