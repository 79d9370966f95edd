//! `docker save` archives: `manifest.json` names the config and the layer members. Both the
//! legacy layout (`<id>/layer.tar`) and the OCI layout that Docker 25+ and the containerd
//! store write inside the tar (`blobs/sha256/<hex>`) resolve through the same manifest.

use serde::Deserialize;

use pyslim_core::error::{Error, Result};

use super::assemble::{LayerRef, Resolved};
use super::store::{member_path, BlobStore};

pub const MANIFEST: &str = "manifest.json";

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ManifestItem {
    config: String,
    #[serde(default)]
    repo_tags: Option<Vec<String>>,
    #[serde(default)]
    layers: Vec<String>,
}

/// Picks the image in the archive: the one tagged `wanted` when given and present, else the
/// first (with a warning when there are several).
pub fn resolve(store: &dyn BlobStore, wanted: Option<&str>, max_json: u64) -> Result<Resolved> {
    let input = store.input();
    let bytes = store.read_json(MANIFEST, max_json)?;
    let items: Vec<ManifestItem> = serde_json::from_slice(&bytes).map_err(|e| {
        Error::corrupt(
            input,
            format!("manifest.json is not a docker-archive manifest: {e}"),
        )
    })?;
    if items.is_empty() {
        return Err(Error::corrupt(input, "manifest.json lists no images"));
    }
    let mut warnings = Vec::new();
    let tags = |i: &ManifestItem| i.repo_tags.clone().unwrap_or_default();
    let chosen = match wanted.and_then(|w| {
        let full = if w.contains(':') {
            w.to_owned()
        } else {
            format!("{w}:latest")
        };
        items
            .iter()
            .position(|i| tags(i).iter().any(|t| *t == full || *t == w))
    }) {
        Some(pos) => pos,
        None => {
            if items.len() > 1 {
                warnings.push(format!(
                    "{input}: the archive holds {} images; reading the first ({})",
                    items.len(),
                    tags(&items[0])
                        .first()
                        .map(String::as_str)
                        .unwrap_or("untagged")
                ));
            }
            0
        }
    };
    let item = &items[chosen];
    let config_member = member_path(input, &item.config)?;
    // In OCI-style archives the config member is `blobs/sha256/<hex>`: its name is its digest.
    let config_digest = digest_of_blob_member(&config_member).or_else(|| {
        config_member
            .strip_suffix(".json")
            .filter(|h| h.len() == 64 && h.bytes().all(|b| b.is_ascii_hexdigit()))
            .map(|h| format!("sha256:{h}"))
    });
    let layers = item
        .layers
        .iter()
        .map(|l| {
            let member = member_path(input, l)?;
            Ok(LayerRef {
                digest: digest_of_blob_member(&member),
                member,
                size: None,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(Resolved {
        config_member,
        config_digest,
        layers,
        warnings,
    })
}

/// `blobs/sha256/<hex>` is content-addressed: its name is the digest it must have.
fn digest_of_blob_member(member: &str) -> Option<String> {
    let (alg, hex) = member.strip_prefix("blobs/")?.split_once('/')?;
    (!hex.contains('/')).then(|| format!("{alg}:{hex}"))
}
