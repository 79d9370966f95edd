//! Credentials and trust: htpasswd Basic auth, TLS with a private CA, and the Bearer token
//! flow of distribution's `auth: token`.

use super::kit::{
    self, analyze_json, assert_same_json, error_line, pyslim, Registry, Setup, PASSWORD, USER,
};
use super::{app_layout, oci_json, token};

#[test]
fn basic_auth_takes_credentials_from_the_environment_stdin_or_docker_config() {
    if !kit::tools_or_skip(
        "basic_auth_takes_credentials_from_the_environment_stdin_or_docker_config",
    ) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let layout = app_layout(dir.path());
    let registry = Registry::start(Setup {
        basic_auth: true,
        ..Default::default()
    });
    registry.push(&layout, "private/app:1", false);
    let image = format!("registry://{}/private/app:1", registry.host());
    let want = oci_json(&layout);

    let env = [
        ("PYSLIM_REGISTRY_USERNAME", USER),
        ("PYSLIM_REGISTRY_PASSWORD", PASSWORD),
    ];
    assert_same_json(&analyze_json(&[&image], &env).0, &want, "environment");

    let out = pyslim(
        &[
            "analyze",
            "--json",
            "--username",
            USER,
            "--password-stdin",
            &image,
        ],
        &[],
        Some(&format!("{PASSWORD}\n")),
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // `docker login` leaves base64(user:password) in config.json.
    let config = tempfile::tempdir().unwrap();
    let auth = base64_of(&format!("{USER}:{PASSWORD}"));
    std::fs::write(
        config.path().join("config.json"),
        format!(
            r#"{{"auths":{{"{}":{{"auth":"{auth}"}}}}}}"#,
            registry.host()
        ),
    )
    .unwrap();
    let docker_config = config.path().to_str().unwrap();
    assert_same_json(
        &analyze_json(&[&image], &[("DOCKER_CONFIG", docker_config)]).0,
        &want,
        "docker config",
    );

    let missing = error_line(&pyslim(&["analyze", &image], &[], None));
    assert!(
        missing.starts_with(&format!(
            "pyslim: {}: private/app needs credentials",
            registry.host()
        )) && missing.contains("docker login"),
        "{missing}"
    );
    let wrong = error_line(&pyslim(
        &["analyze", &image],
        &[
            ("PYSLIM_REGISTRY_USERNAME", USER),
            ("PYSLIM_REGISTRY_PASSWORD", "not-the-password"),
        ],
        None,
    ));
    assert!(
        wrong.contains(&format!("the credentials of {USER}")) && wrong.contains("were refused"),
        "{wrong}"
    );
    assert!(!wrong.contains("not-the-password"), "{wrong}");
}

fn base64_of(text: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(text)
}

#[test]
fn tls_with_a_private_ca_needs_ca_cert_or_insecure_registry() {
    if !kit::tools_or_skip("tls_with_a_private_ca_needs_ca_cert_or_insecure_registry") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let layout = app_layout(dir.path());
    let (ca, cert, key) = kit::tls_files(dir.path());
    let registry = Registry::start(Setup {
        tls: Some((cert, key)),
        ..Default::default()
    });
    registry.push(&layout, "secure/app:1", false);
    let host = registry.host();
    let image = format!("registry://{host}/secure/app:1");

    let untrusted = error_line(&pyslim(&["analyze", &image], &[], None));
    assert!(
        untrusted.starts_with(&format!(
            "pyslim: {host}: TLS failure talking to https://{host}"
        )) && untrusted.contains("--ca-cert FILE")
            && untrusted.contains(&format!("--insecure-registry {host}")),
        "{untrusted}"
    );
    let want = oci_json(&layout);
    let ca = ca.to_str().unwrap();
    assert_same_json(
        &analyze_json(&["--ca-cert", ca, &image], &[]).0,
        &want,
        "--ca-cert",
    );
    assert_same_json(
        &analyze_json(&["--insecure-registry", &host, &image], &[]).0,
        &want,
        "--insecure-registry",
    );
    let not_pem = error_line(&pyslim(
        &["analyze", "--ca-cert", "Cargo.toml", &image],
        &[],
        None,
    ));
    assert!(not_pem.contains("no PEM certificate"), "{not_pem}");
}

#[test]
fn a_bearer_token_service_grants_access_for_the_credentials() {
    if !kit::tools_or_skip("a_bearer_token_service_grants_access_for_the_credentials") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let layout = app_layout(dir.path());
    let tokens = token::TokenService::start(dir.path());
    let registry = Registry::start(Setup {
        token: Some((
            tokens.realm(),
            token::SERVICE.into(),
            token::ISSUER.into(),
            tokens.cert.clone(),
        )),
        ..Default::default()
    });
    registry.push(&layout, "tok/app:1", false);
    let image = format!("registry://{}/tok/app:1", registry.host());

    let env = [
        ("PYSLIM_REGISTRY_USERNAME", USER),
        ("PYSLIM_REGISTRY_PASSWORD", PASSWORD),
    ];
    assert_same_json(
        &analyze_json(&[&image], &env).0,
        &oci_json(&layout),
        "bearer",
    );
    let missing = error_line(&pyslim(&["analyze", &image], &[], None));
    assert!(missing.contains("tok/app needs credentials"), "{missing}");
    let wrong = error_line(&pyslim(
        &["analyze", &image],
        &[
            ("PYSLIM_REGISTRY_USERNAME", USER),
            ("PYSLIM_REGISTRY_PASSWORD", "nope"),
        ],
        None,
    ));
    assert!(wrong.contains("were refused"), "{wrong}");
}
