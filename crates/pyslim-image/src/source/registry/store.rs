//! A registry repository seen as an OCI image layout: `index.json` is what the tag or digest
//! names (an index as served, or a one-entry index around a manifest), and
//! `blobs/sha256/HEX` is fetched when it is read — from the manifests endpoint for the
//! manifests an index names, from the blobs endpoint otherwise. So the OCI layout reader
//! resolves platforms and the assembler reads layers exactly as for a layout on disk.
//!
//! Nothing is trusted: every document and blob is hashed as it arrives and checked against
//! its digest. Layer blobs stream into the layer reader and are never held whole.
//! A layer is fetched only when `read_layer` is called: a cache that already knows a layer
//! (by diff_id, see `assemble`) never downloads it.

use std::collections::{HashMap, HashSet};
use std::io::{self, Read};
use std::sync::Mutex;

use serde::Deserialize;
use sha2::{Digest, Sha256};

use super::client::Client;
use super::progress::Progress;
use super::reference::{is_digest, Reference};
use super::verifying::Verifying;
use crate::source::layer_tar::{read_layer_stream, LayerRead, ReadOptions};
use crate::source::oci_layout::INDEX;
use crate::source::store::{BlobStore, Stored};
use pyslim_core::entry::LayerChanges;
use pyslim_core::error::{Error, Result};
use pyslim_core::image::Compression;

const SCHEMA1: [&str; 2] = [
    "application/vnd.docker.distribution.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.v1+prettyjws",
];

/// What a manifest says of one layer, beyond what the layout reader keeps.
#[derive(Debug, Clone)]
struct LayerInfo {
    media_type: String,
    size: Option<u64>,
    foreign: bool,
}

/// Only the fields that tell documents apart.
#[derive(Deserialize)]
struct Document {
    #[serde(rename = "schemaVersion", default)]
    schema_version: Option<u32>,
    #[serde(rename = "mediaType", default)]
    media_type: Option<String>,
    #[serde(default)]
    manifests: Option<Vec<Descriptor>>,
    #[serde(default)]
    layers: Option<Vec<Descriptor>>,
}

#[derive(Deserialize)]
struct Descriptor {
    #[serde(rename = "mediaType", default)]
    media_type: String,
    digest: String,
    #[serde(default)]
    size: Option<u64>,
    #[serde(default)]
    urls: Option<Vec<String>>,
}

pub struct RegistryStore<'a> {
    client: &'a Client,
    input: String,
    /// What `index.json` reads as.
    index: Vec<u8>,
    /// Manifests read already, by digest.
    manifests: Mutex<HashMap<String, Vec<u8>>>,
    /// Digests an index named: these come from the manifests endpoint.
    manifest_digests: Mutex<HashSet<String>>,
    layers: Mutex<HashMap<String, LayerInfo>>,
    progress: &'a Progress,
}

impl<'a> RegistryStore<'a> {
    /// Reads what the reference names (by tag or digest) and checks it.
    pub fn open(
        client: &'a Client,
        reference: &Reference,
        max_json: u64,
        progress: &'a Progress,
    ) -> Result<RegistryStore<'a>> {
        let input = reference.to_string();
        let (bytes, media_type) = client.manifest(reference.target(), max_json)?;
        let digest = sha256(&bytes);
        if let Some(expected) = &reference.digest {
            if *expected != digest {
                return Err(Error::DigestMismatch {
                    input: format!("{input}: the manifest"),
                    expected: expected.clone(),
                    actual: digest,
                });
            }
        }
        let store = RegistryStore {
            client,
            input,
            index: Vec::new(),
            manifests: Mutex::new(HashMap::new()),
            manifest_digests: Mutex::new(HashSet::new()),
            layers: Mutex::new(HashMap::new()),
            progress,
        };
        let doc = store.note(&bytes, &media_type)?;
        let index = if doc.manifests.is_some() {
            bytes
        } else {
            let media_type = doc
                .media_type
                .filter(|m| !m.is_empty())
                .unwrap_or(media_type);
            if let Ok(mut m) = store.manifests.lock() {
                m.insert(digest.clone(), bytes.clone());
            }
            serde_json::to_vec(&serde_json::json!({
                "schemaVersion": 2,
                "manifests": [{"mediaType": media_type, "digest": digest, "size": bytes.len()}],
            }))
            .map_err(|e| Error::corrupt(&store.input, e.to_string()))?
        };
        Ok(RegistryStore { index, ..store })
    }

    /// Learns what a manifest or index says: the manifests an index names, the layers a
    /// manifest has. Refuses schema 1.
    fn note(&self, bytes: &[u8], media_type: &str) -> Result<Document> {
        let doc: Document = serde_json::from_slice(bytes).map_err(|e| {
            Error::corrupt(
                &self.input,
                format!("the registry's manifest is not JSON: {e}"),
            )
        })?;
        let media = doc.media_type.as_deref().unwrap_or(media_type);
        if doc.schema_version == Some(1)
            || SCHEMA1.contains(&media)
            || SCHEMA1.contains(&media_type)
        {
            return Err(Error::unsupported(
                &self.input,
                "a Docker schema 1 manifest, which pyslim does not read (deprecated since 2017): push the image again with a current docker or skopeo",
            ));
        }
        if let Some(manifests) = &doc.manifests {
            if let Ok(mut known) = self.manifest_digests.lock() {
                known.extend(manifests.iter().map(|d| d.digest.clone()));
            }
        }
        if let Some(layers) = &doc.layers {
            if let Ok(mut known) = self.layers.lock() {
                for d in layers {
                    let foreign = d.media_type.contains("foreign")
                        || d.media_type.contains("nondistributable")
                        || d.urls.as_ref().is_some_and(|u| !u.is_empty());
                    known.insert(
                        d.digest.clone(),
                        LayerInfo {
                            media_type: d.media_type.clone(),
                            size: d.size,
                            foreign,
                        },
                    );
                }
            }
        }
        Ok(doc)
    }

    fn digest_of(&self, member: &str) -> Result<String> {
        let digest = member
            .strip_prefix("blobs/sha256/")
            .map(|hex| format!("sha256:{hex}"))
            .filter(|d| is_digest(d))
            .ok_or_else(|| {
                Error::corrupt(&self.input, format!("{member:?} is not a sha256 blob"))
            })?;
        Ok(digest)
    }

    fn layer_info(&self, digest: &str) -> Option<LayerInfo> {
        self.layers.lock().ok()?.get(digest).cloned()
    }
}

impl BlobStore for RegistryStore<'_> {
    fn input(&self) -> &str {
        &self.input
    }

    fn contains(&self, member: &str) -> bool {
        member == INDEX || self.digest_of(member).is_ok()
    }

    fn read_json(&self, member: &str, limit: u64) -> Result<Vec<u8>> {
        if member == INDEX {
            return Ok(self.index.clone());
        }
        let digest = self.digest_of(member)?;
        if let Some(bytes) = self
            .manifests
            .lock()
            .ok()
            .and_then(|m| m.get(&digest).cloned())
        {
            return Ok(bytes);
        }
        let is_manifest = self
            .manifest_digests
            .lock()
            .is_ok_and(|m| m.contains(&digest));
        let (bytes, media_type) = if is_manifest {
            self.client.manifest(&digest, limit)?
        } else {
            (self.client.small_blob(&digest, limit)?, String::new())
        };
        let actual = sha256(&bytes);
        if actual != digest {
            return Err(Error::DigestMismatch {
                input: format!(
                    "{}: {}",
                    self.input,
                    if is_manifest {
                        "a manifest"
                    } else {
                        "the config"
                    }
                ),
                expected: digest,
                actual,
            });
        }
        if is_manifest {
            self.note(&bytes, &media_type)?;
        }
        Ok(bytes)
    }

    fn read_layer(
        &self,
        member: &str,
        opts: &ReadOptions,
        _hash_compressed: bool,
    ) -> Result<LayerRead> {
        let digest = self.digest_of(member)?;
        let label = format!("{}: layer {digest}", self.input);
        let info = self.layer_info(&digest);
        if let Some(info) = info.as_ref().filter(|i| i.foreign) {
            self.progress.layer_done();
            return Ok(LayerRead {
                compression: compression_of(&info.media_type).unwrap_or(Compression::Gzip),
                changes: LayerChanges {
                    warnings: vec![format!(
                        "{label}: a foreign (non-distributable) layer, which registries do not serve: skipped, its files are not shown"
                    )],
                    ..Default::default()
                },
                blob_digest: None,
                blob_bytes: info.size.unwrap_or(0),
            });
        }
        let (body, length) = self.client.blob(&digest)?;
        let mut blob = Verifying::new(body, self.progress);
        let read = read_layer_stream(&label, &mut blob, opts, false);
        let expected_len = info.and_then(|i| i.size).or(length);
        let mut read = match read {
            Ok(read) => read,
            // The transfer failed, not the bytes: say so, not "corrupt".
            Err(_) if blob.broke.is_some() => {
                let why = blob.broke.unwrap_or_default();
                return Err(Error::Registry(if why.to_lowercase().contains("timeout") {
                    format!(
                        "{label}: the transfer stalled: the registry sent nothing for {}s (set PYSLIM_REGISTRY_TIMEOUT to wait longer)",
                        super::client::timeout().as_secs()
                    )
                } else {
                    format!(
                        "{label}: the transfer broke off after {} bytes: {why}",
                        blob.bytes
                    )
                }));
            }
            Err(err) => {
                // Bytes that do not parse may be bytes that are not this blob: when the
                // rest can be had, say which.
                if let Some(len) = expected_len {
                    let left = len.saturating_sub(blob.bytes);
                    if io::copy(&mut (&mut blob).take(left), &mut io::sink()).is_ok() {
                        let actual = blob.digest();
                        if actual != digest {
                            return Err(Error::DigestMismatch {
                                input: label,
                                expected: digest,
                                actual,
                            });
                        }
                    }
                }
                return Err(err);
            }
        };
        let actual = blob.digest();
        if actual != digest {
            return Err(Error::DigestMismatch {
                input: label,
                expected: digest,
                actual,
            });
        }
        read.blob_digest = Some(actual);
        self.progress.layer_done();
        Ok(read)
    }

    fn stored(&self, member: &str) -> Option<Stored> {
        let info = self.layer_info(&self.digest_of(member).ok()?)?;
        if info.foreign {
            return None;
        }
        Some(Stored {
            compression: compression_of(&info.media_type)?,
            bytes: info.size?,
        })
    }
}

/// How a layer media type says its blob is stored, when it says.
fn compression_of(media_type: &str) -> Option<Compression> {
    if media_type.ends_with("gzip") {
        Some(Compression::Gzip)
    } else if media_type.ends_with("zstd") {
        Some(Compression::Zstd)
    } else if media_type.ends_with(".tar") || media_type.ends_with(".tar.v1") {
        Some(Compression::None)
    } else {
        None
    }
}

fn sha256(bytes: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(bytes)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layer_media_types_say_how_blobs_are_stored() {
        for (media, c) in [
            (
                "application/vnd.docker.image.rootfs.diff.tar.gzip",
                Some(Compression::Gzip),
            ),
            (
                "application/vnd.oci.image.layer.v1.tar+gzip",
                Some(Compression::Gzip),
            ),
            (
                "application/vnd.oci.image.layer.v1.tar+zstd",
                Some(Compression::Zstd),
            ),
            (
                "application/vnd.oci.image.layer.v1.tar",
                Some(Compression::None),
            ),
            ("application/octet-stream", None),
        ] {
            assert_eq!(compression_of(media), c, "{media}");
        }
    }
}
