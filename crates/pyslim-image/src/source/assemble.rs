//! Turns a resolved manifest (config member + layer members) into an `Image`: reads the
//! layers in parallel, checks what can be checked, and pairs layers with history.

use rayon::prelude::*;

use pyslim_core::error::{Error, Result};
use pyslim_core::image::{history_for_layers, Image, Layer, SourceKind};

use super::image_config::parse_config;
use super::layer_tar::ReadOptions;
use super::store::BlobStore;

/// A layer as a manifest names it.
pub struct LayerRef {
    pub member: String,
    /// Blob digest and size from an OCI descriptor, when the format has one.
    pub digest: Option<String>,
    pub size: Option<u64>,
}

pub struct Resolved {
    pub config_member: String,
    /// The config digest, when the manifest gives it.
    pub config_digest: Option<String>,
    pub layers: Vec<LayerRef>,
    pub warnings: Vec<String>,
}

pub fn assemble(
    store: &dyn BlobStore,
    resolved: Resolved,
    reference: &str,
    source: SourceKind,
    opts: &ReadOptions,
    observer: &dyn super::LoadObserver,
    cache: Option<&super::LayerCache>,
) -> Result<Image> {
    let input = store.input().to_owned();
    let config_bytes = store.read_json(&resolved.config_member, opts.limits.max_json_bytes)?;
    let config_label = format!("{input}: {}", resolved.config_member);
    let parsed = parse_config(&config_label, &config_bytes)?;
    if parsed.diff_ids.len() != resolved.layers.len() {
        return Err(Error::corrupt(
            &input,
            format!(
                "the manifest lists {} layers but the config lists {} diff_ids",
                resolved.layers.len(),
                parsed.diff_ids.len()
            ),
        ));
    }
    for layer in &resolved.layers {
        if !store.contains(&layer.member) {
            return Err(Error::corrupt(
                &input,
                format!(
                    "manifest names {:?}, which is not in the archive",
                    layer.member
                ),
            ));
        }
    }
    let history = history_for_layers(&parsed.history, resolved.layers.len());
    let instructions: Vec<String> = history
        .iter()
        .map(|h| h.as_ref().map(|h| h.instruction()).unwrap_or_default())
        .collect();
    observer.layers(&instructions);
    let reads: Vec<_> = resolved
        .layers
        .par_iter()
        .enumerate()
        .map(|(i, l)| {
            let diff_id = &parsed.diff_ids[i];
            // Shared layers share reading, never what depends on the source: a layer is
            // taken from the cache only when this image stores it alike (the same
            // compression, so the same reader and the same captures), and the facts of the
            // blob itself (its size, its digest) stay this image's. A stream has read its
            // layers already, and --verify must hash this image's own bytes: no sharing.
            let stored = cache
                .filter(|_| !opts.verify_diff_ids)
                .and_then(|_| store.stored(&l.member));
            let key = stored.map(|s| format!("{diff_id} {:?}", s.compression));
            let shared = cache.zip(key.as_deref()).and_then(|(c, k)| c.get(k));
            let read = match (shared, stored) {
                (Some(mut shared), Some(stored)) => {
                    shared.blob_bytes = stored.bytes;
                    shared.blob_digest = None;
                    shared
                }
                _ => {
                    let read = store.read_layer(&l.member, opts, l.digest.is_some())?;
                    if let (Some(c), Some(k)) = (cache, key.as_deref()) {
                        c.put(k, &read);
                    }
                    read
                }
            };
            let bytes = read.changes.entries.iter().map(|e| e.size).sum();
            observer.layer_read(i, read.changes.entries.len(), bytes);
            observer.layer_changes(i, &read.changes);
            Ok(read)
        })
        .collect::<Result<_>>()?;

    let mut warnings = resolved.warnings;
    if parsed.history.iter().filter(|h| !h.empty_layer).count() != resolved.layers.len()
        && !parsed.history.is_empty()
    {
        warnings.push(format!(
            "{input}: history names {} layers but the image has {}; instructions may be misattributed",
            parsed.history.iter().filter(|h| !h.empty_layer).count(),
            resolved.layers.len()
        ));
    }
    let mut layers = Vec::with_capacity(reads.len());
    for (index, ((layer_ref, read), (diff_id, hist))) in resolved
        .layers
        .into_iter()
        .zip(reads)
        .zip(parsed.diff_ids.into_iter().zip(history))
        .enumerate()
    {
        let label = format!("{input}: {}", layer_ref.member);
        if let Some(expected) = layer_ref.size {
            if expected != read.blob_bytes {
                return Err(Error::corrupt(
                    &label,
                    format!(
                        "size mismatch: the manifest says {expected} bytes, the blob has {}",
                        read.blob_bytes
                    ),
                ));
            }
        }
        if let (Some(expected), Some(actual)) = (&layer_ref.digest, &read.blob_digest) {
            if expected != actual {
                return Err(Error::DigestMismatch {
                    input: label,
                    expected: expected.clone(),
                    actual: actual.clone(),
                });
            }
        }
        if let Some(actual) = &read.changes.diff_id {
            if *actual != diff_id {
                return Err(Error::DigestMismatch {
                    input: format!("{label} (diff_id)"),
                    expected: diff_id,
                    actual: actual.clone(),
                });
            }
        }
        warnings.extend(read.changes.warnings.iter().cloned());
        layers.push(Layer {
            index,
            digest: layer_ref.digest.or(read.blob_digest),
            diff_id,
            compression: read.compression,
            blob_bytes: Some(read.blob_bytes),
            history: hist,
            changes: read.changes,
        });
    }
    let id = resolved.config_digest.unwrap_or_else(|| {
        use sha2::{Digest, Sha256};
        format!("sha256:{}", hex::encode(Sha256::digest(&config_bytes)))
    });
    Ok(Image {
        reference: reference.to_owned(),
        source,
        id,
        config: parsed.config,
        history: parsed.history,
        layers,
        warnings,
    })
}
