//! Turns a resolved manifest (config member + layer members) into an `Image`: reads the
//! layers in parallel, checks what can be checked, and pairs layers with history.

use rayon::prelude::*;

use pyslim_core::error::{Error, Result};
use pyslim_core::image::{history_for_layers, Image, Layer, SourceKind};

use super::image_config::parse_config;
use super::layer_cache::check_cached_limits;
use super::layer_cache::{DiskCache, LayerKey};
use super::layer_tar::LayerRead;
use super::layer_tar::ReadOptions;
use super::store::BlobStore;

/// The caches a read may use: the one shared by the images of one run, the one on disk.
#[derive(Clone, Copy, Default)]
pub struct Caches<'a> {
    pub memory: Option<&'a super::LayerCache>,
    pub disk: Option<&'a DiskCache>,
}

/// One layer, read or taken from a cache.
struct LayerOutcome {
    read: LayerRead,
    /// How to store it on disk once the image is checked: (compression, seekable).
    store_as: Option<(pyslim_core::image::Compression, bool)>,
    /// The diff_id hashed for the disk cache, to check before storing.
    hashed: Option<String>,
}

/// Reads one layer, or takes it from a cache. Shared layers share reading, never what
/// depends on the source: a layer is taken from a cache only when this image stores it
/// alike (the same compression, so the same reader and the same captures), and the facts
/// of the blob itself (its size, its digest) stay this image's. A stream has read its layers
/// already, and --verify must hash this image's own bytes: no sharing then.
fn read_one(
    store: &dyn BlobStore,
    l: &LayerRef,
    diff_id: &str,
    input: &str,
    opts: &ReadOptions,
    caches: Caches,
) -> Result<LayerOutcome> {
    let label = format!("{input}: {}", l.member);
    // `None` for a stream, which has parsed its layers already.
    let stored = (caches.memory.is_some() || caches.disk.is_some())
        .then(|| store.stored(&l.member))
        .flatten();
    let shareable = stored.filter(|_| !opts.verify_diff_ids);
    let memory_key = shareable.map(|s| format!("{diff_id} {:?}", s.compression));
    if let (Some(c), Some(k), Some(stored)) = (caches.memory, memory_key.as_deref(), shareable) {
        if let Some(mut shared) = c.get(k) {
            shared.blob_bytes = stored.bytes;
            shared.blob_digest = None;
            return Ok(LayerOutcome {
                read: shared,
                store_as: None,
                hashed: None,
            });
        }
    }
    if let (Some(disk), Some(stored)) = (caches.disk, shareable) {
        let key = LayerKey {
            diff_id,
            compression: stored.compression,
            seekable: true,
            contents: !opts.skip_contents,
        };
        if let Some(changes) = disk.load_layer(&key, &label) {
            check_cached_limits(&label, &changes, opts)?;
            let read = LayerRead {
                compression: stored.compression,
                changes,
                blob_digest: None,
                blob_bytes: stored.bytes,
            };
            if let (Some(c), Some(k)) = (caches.memory, memory_key.as_deref()) {
                c.put(k, &read);
            }
            return Ok(LayerOutcome {
                read,
                store_as: None,
                hashed: None,
            });
        }
    }
    // A layer goes into the disk cache only under a diff_id its bytes were hashed to: a
    // compressed blob is hashed as it inflates; an uncompressed one read with seeks is
    // hashed in a second pass, so that its facts are those of a read without the cache.
    // (Under --verify an uncompressed file is read as a stream: not stored as a seek read.)
    let to_disk = caches.disk.is_some() && (stored.is_none() || shareable.is_some());
    let mut read_opts;
    let mut opts_used = opts;
    if to_disk {
        read_opts = opts.clone();
        read_opts.hash_diff_ids = true;
        opts_used = &read_opts;
    }
    let read = store.read_layer(&l.member, opts_used, l.digest.is_some())?;
    if let (Some(c), Some(k)) = (caches.memory, memory_key.as_deref()) {
        c.put(k, &read);
    }
    if !to_disk {
        return Ok(LayerOutcome {
            read,
            store_as: None,
            hashed: None,
        });
    }
    let hashed = match (&read.changes.diff_id, stored) {
        (Some(d), _) => Some(d.clone()),
        (None, Some(_)) => Some(hash_member(store, &l.member, &label)?),
        // A compressed layer of a stream, not hashed: not stored.
        (None, None) => None,
    };
    Ok(LayerOutcome {
        store_as: Some((read.compression, stored.is_some())),
        hashed,
        read,
    })
}

/// sha256 of a member's bytes, as `sha256:…`.
fn hash_member(store: &dyn BlobStore, member: &str, label: &str) -> Result<String> {
    use sha2::{Digest, Sha256};
    let mut reader = store.open_member(member)?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = std::io::Read::read(&mut reader, &mut buf)
            .map_err(|e| Error::corrupt(label, super::layer_io::describe_io(&e)))?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(format!("sha256:{}", hex::encode(hasher.finalize())))
}

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
    caches: Caches,
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
            let read = read_one(store, l, &parsed.diff_ids[i], &input, opts, caches)?;
            let bytes = read.read.changes.entries.iter().map(|e| e.size).sum();
            observer.layer_read(i, read.read.changes.entries.len(), bytes);
            observer.layer_changes(i, &read.read.changes);
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
    let mut to_store = Vec::new();
    for (index, ((layer_ref, read), (diff_id, hist))) in resolved
        .layers
        .into_iter()
        .zip(reads)
        .zip(parsed.diff_ids.into_iter().zip(history))
        .enumerate()
    {
        let label = format!("{input}: {}", layer_ref.member);
        let LayerOutcome {
            read,
            store_as,
            hashed,
        } = read;
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
        if let (Some(actual), Some(key)) = (&hashed, store_as) {
            if *actual != diff_id {
                return Err(Error::DigestMismatch {
                    input: format!("{label} (diff_id)"),
                    expected: diff_id,
                    actual: actual.clone(),
                });
            }
            let blob = layer_ref.digest.clone().or(read.blob_digest.clone());
            to_store.push((index, key, label.clone(), blob, layer_ref.member.clone()));
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
    // Only now, with every layer checked: a failed read caches nothing.
    if let Some(disk) = caches.disk {
        for (index, (compression, seekable), label, blob, member) in to_store {
            let layer = &layers[index];
            let key = LayerKey {
                diff_id: &layer.diff_id,
                compression,
                seekable,
                contents: !opts.skip_contents,
            };
            // A stream parses every layer it carries: those cached already stay as they are.
            if seekable || !disk.has_layer(&key) {
                disk.store_layer(&key, &label, &layer.changes, blob.as_deref());
            }
            if !seekable {
                disk.map_member(&member, &layer.diff_id);
            }
        }
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
