//! OCI image layouts (a directory or a tar of one): `index.json` → (nested indexes) →
//! manifest for one platform → config and layers.

use serde::Deserialize;

use pyslim_core::error::{Error, Result};

use super::assemble::{LayerRef, Resolved};
use super::image_config::blob_path;
use super::store::BlobStore;

pub const INDEX: &str = "index.json";

const MEDIA_INDEX: [&str; 2] = [
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
];

#[derive(Deserialize, Clone)]
struct Descriptor {
    #[serde(rename = "mediaType", default)]
    media_type: String,
    digest: String,
    #[serde(default)]
    size: Option<u64>,
    #[serde(default)]
    platform: Option<Platform>,
    #[serde(default)]
    annotations: Option<std::collections::BTreeMap<String, String>>,
}

#[derive(Deserialize, Clone)]
struct Platform {
    #[serde(default)]
    architecture: String,
    #[serde(default)]
    os: String,
    #[serde(default)]
    variant: Option<String>,
}

impl Platform {
    fn label(&self) -> String {
        match &self.variant {
            Some(v) if !v.is_empty() => format!("{}/{}/{}", self.os, self.architecture, v),
            _ => format!("{}/{}", self.os, self.architecture),
        }
    }
}

#[derive(Deserialize)]
struct Index {
    #[serde(default)]
    manifests: Vec<Descriptor>,
}

#[derive(Deserialize)]
struct Manifest {
    config: Descriptor,
    #[serde(default)]
    layers: Vec<Descriptor>,
}

/// The platform this binary runs on, in OCI words (`linux/amd64`).
pub fn host_platform() -> String {
    let arch = match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        "x86" => "386",
        "powerpc64" => "ppc64le",
        other => other,
    };
    format!("linux/{arch}")
}

fn is_attestation(d: &Descriptor) -> bool {
    d.annotations
        .as_ref()
        .is_some_and(|a| a.contains_key("vnd.docker.reference.type"))
        || d.platform
            .as_ref()
            .is_some_and(|p| p.os == "unknown" && p.architecture == "unknown")
}

/// Walks the index (and nested indexes) to the image manifest for `platform` (host default).
pub fn resolve(store: &dyn BlobStore, platform: Option<&str>, max_json: u64) -> Result<Resolved> {
    let input = store.input().to_owned();
    let want = platform.map(str::to_owned).unwrap_or_else(host_platform);
    let mut candidates: Vec<Descriptor> = Vec::new();
    let mut pending: Vec<(String, u32)> = vec![(INDEX.to_owned(), 0)];
    while let Some((member, depth)) = pending.pop() {
        if depth > 4 {
            return Err(Error::corrupt(&input, "indexes nest more than 4 deep"));
        }
        let bytes = store.read_json(&member, max_json)?;
        let index: Index = serde_json::from_slice(&bytes)
            .map_err(|e| Error::corrupt(&input, format!("{member} is not an OCI index: {e}")))?;
        for d in index.manifests {
            if MEDIA_INDEX.contains(&d.media_type.as_str()) {
                pending.push((blob_path(&input, &d.digest)?, depth + 1));
            } else if !is_attestation(&d) {
                candidates.push(d);
            }
        }
    }
    let chosen = match candidates.len() {
        0 => {
            return Err(Error::corrupt(
                &input,
                "the OCI index lists no image manifest",
            ))
        }
        1 if candidates[0].platform.is_none() || platform.is_none() => candidates.remove(0),
        _ => {
            let matches = |d: &Descriptor| {
                d.platform.as_ref().is_some_and(|p| {
                    let label = p.label();
                    label == want || format!("{}/{}", p.os, p.architecture) == want
                })
            };
            match candidates.iter().position(matches) {
                Some(pos) => candidates.remove(pos),
                None if candidates.iter().all(|d| d.platform.is_none()) && platform.is_none() => {
                    candidates.remove(0)
                }
                None => {
                    let available: Vec<String> = candidates
                        .iter()
                        .map(|d| {
                            d.platform
                                .as_ref()
                                .map(Platform::label)
                                .unwrap_or_else(|| "unspecified".into())
                        })
                        .collect();
                    return Err(Error::unsupported(
                        &input,
                        format!("no manifest for platform {want}; the image has {} (choose with --platform)", available.join(", ")),
                    ));
                }
            }
        }
    };
    let manifest_member = blob_path(&input, &chosen.digest)?;
    let bytes = store.read_json(&manifest_member, max_json)?;
    if let Some(size) = chosen.size {
        if size != bytes.len() as u64 {
            return Err(Error::corrupt(
                &input,
                format!(
                    "size mismatch: the index says the manifest has {size} bytes, it has {}",
                    bytes.len()
                ),
            ));
        }
    }
    let manifest: Manifest = serde_json::from_slice(&bytes).map_err(|e| {
        Error::corrupt(
            &input,
            format!("{manifest_member} is not an image manifest: {e}"),
        )
    })?;
    let layers = manifest
        .layers
        .iter()
        .map(|d| {
            Ok(LayerRef {
                member: blob_path(&input, &d.digest)?,
                digest: Some(d.digest.clone()),
                size: d.size,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(Resolved {
        config_member: blob_path(&input, &manifest.config.digest)?,
        config_digest: Some(manifest.config.digest.clone()),
        layers,
        warnings: Vec::new(),
    })
}
