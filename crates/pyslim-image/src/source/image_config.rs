//! The image config JSON (OCI `application/vnd.oci.image.config.v1+json`, which Docker's
//! config is a superset of): runtime settings, history and the layers' diff_ids.

use std::collections::BTreeMap;

use serde::Deserialize;

use pyslim_core::error::{Error, Result};
use pyslim_core::image::{HistoryEntry, ImageConfig};

#[derive(Deserialize, Default)]
struct RawConfigFile {
    #[serde(default)]
    architecture: String,
    #[serde(default)]
    os: String,
    #[serde(default)]
    created: Option<String>,
    #[serde(default)]
    config: Option<RawRuntime>,
    #[serde(default)]
    rootfs: Option<RawRootfs>,
    #[serde(default)]
    history: Option<Vec<HistoryEntry>>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase")]
struct RawRuntime {
    #[serde(default)]
    user: Option<String>,
    #[serde(default)]
    env: Option<Vec<String>>,
    #[serde(default)]
    entrypoint: Option<Vec<String>>,
    #[serde(default)]
    cmd: Option<Vec<String>>,
    #[serde(default)]
    working_dir: Option<String>,
    #[serde(default)]
    exposed_ports: Option<BTreeMap<String, serde_json::Value>>,
    #[serde(default)]
    labels: Option<BTreeMap<String, String>>,
}

#[derive(Deserialize, Default)]
struct RawRootfs {
    #[serde(default)]
    diff_ids: Vec<String>,
}

pub struct ParsedConfig {
    pub config: ImageConfig,
    pub history: Vec<HistoryEntry>,
    pub diff_ids: Vec<String>,
}

pub fn parse_config(input: &str, bytes: &[u8]) -> Result<ParsedConfig> {
    let raw: RawConfigFile = serde_json::from_slice(bytes)
        .map_err(|e| Error::corrupt(input, format!("image config is not valid JSON: {e}")))?;
    let runtime = raw.config.unwrap_or_default();
    let diff_ids = raw.rootfs.unwrap_or_default().diff_ids;
    for id in &diff_ids {
        check_digest(input, id)?;
    }
    Ok(ParsedConfig {
        config: ImageConfig {
            user: runtime.user.unwrap_or_default(),
            env: runtime.env.unwrap_or_default(),
            entrypoint: runtime.entrypoint.unwrap_or_default(),
            cmd: runtime.cmd.unwrap_or_default(),
            workdir: runtime.working_dir.unwrap_or_default(),
            exposed_ports: runtime
                .exposed_ports
                .unwrap_or_default()
                .into_keys()
                .collect(),
            labels: runtime.labels.unwrap_or_default(),
            architecture: raw.architecture,
            os: raw.os,
            created: raw.created,
        },
        history: raw.history.unwrap_or_default(),
        diff_ids,
    })
}

/// Accepts `algorithm:hex` digests only, so a digest can never smuggle a path.
pub fn check_digest(input: &str, digest: &str) -> Result<()> {
    let ok = match digest.split_once(':') {
        Some((alg, hex)) => {
            !alg.is_empty()
                && alg
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"+._-".contains(&b))
                && !hex.is_empty()
                && hex.bytes().all(|b| b.is_ascii_hexdigit())
        }
        None => false,
    };
    if ok {
        Ok(())
    } else {
        Err(Error::corrupt(input, format!("invalid digest {digest:?}")))
    }
}

/// `blobs/<alg>/<hex>` for a checked digest.
pub fn blob_path(input: &str, digest: &str) -> Result<String> {
    check_digest(input, digest)?;
    let (alg, hex) = digest.split_once(':').unwrap_or(("sha256", digest));
    Ok(format!("blobs/{alg}/{hex}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_runtime_settings_and_history() {
        let json = br#"{"architecture":"amd64","os":"linux",
          "config":{"User":"app","Env":["PATH=/usr/bin"],"Cmd":["python","app.py"],"Entrypoint":null,
                    "WorkingDir":"/app","ExposedPorts":{"8000/tcp":{}},"Labels":{"a":"b"}},
          "rootfs":{"type":"layers","diff_ids":["sha256:ab"]},
          "history":[{"created_by":"/bin/sh -c #(nop) ADD file:x in /"},{"created_by":"ENV A=1","empty_layer":true}]}"#;
        let parsed = parse_config("t", json).unwrap();
        assert_eq!(parsed.config.user, "app");
        assert_eq!(parsed.config.cmd, vec!["python", "app.py"]);
        assert!(parsed.config.entrypoint.is_empty());
        assert_eq!(parsed.config.exposed_ports, vec!["8000/tcp"]);
        assert_eq!(parsed.diff_ids, vec!["sha256:ab"]);
        assert!(parsed.history[1].empty_layer);
    }

    #[test]
    fn refuses_digests_that_are_paths() {
        assert!(blob_path("t", "sha256:../../etc/passwd").is_err());
        assert!(blob_path("t", "sha256").is_err());
        assert_eq!(blob_path("t", "sha256:ab12").unwrap(), "blobs/sha256/ab12");
    }
}
