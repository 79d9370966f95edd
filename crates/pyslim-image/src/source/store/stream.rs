//! Members gathered from one pass over a stream (the daemon's export, a compressed archive):
//! the store that cannot seek, so it parses each layer as it passes.

use std::collections::HashMap;
use std::io::{self, Read};
use std::sync::Mutex;

use pyslim_core::entry::{normalize_path, path_from_bytes};
use pyslim_core::error::{Error, Result};

use super::super::layer_tar::{read_layer_stream, LayerRead, ReadOptions};
use super::{check_json_len, missing, BlobStore};

/// Members gathered from one pass over a stream (the daemon's export, a compressed archive):
/// small documents kept whole, layer blobs parsed on the way past.
pub struct StreamStore {
    input: String,
    documents: HashMap<String, Vec<u8>>,
    layers: Mutex<HashMap<String, Result<LayerRead>>>,
}

/// Gives a layer member (by its name, its first bytes and its size) from the layer cache.
pub type CachedMember<'a> = dyn Fn(&str, &[u8], u64) -> Option<Result<LayerRead>> + 'a;

/// Members at most this big and not named like a layer are kept as documents.
const DOCUMENT_SNIFF: usize = 512;

impl StreamStore {
    /// Reads a whole outer tar from `reader`. `on_member` is told each member as it passes
    /// (for progress).
    pub fn collect<R: Read>(
        input: &str,
        reader: R,
        opts: &ReadOptions,
        mut on_member: impl FnMut(&str, u64),
    ) -> Result<Self> {
        Self::collect_observed(input, reader, opts, &mut on_member, &mut |_, _| {})
    }

    /// As `collect`, also telling `on_layer` of each layer blob as soon as it is parsed
    /// (its member name and what it holds), while the rest of the stream is still coming.
    pub fn collect_observed<R: Read>(
        input: &str,
        reader: R,
        opts: &ReadOptions,
        on_member: &mut dyn FnMut(&str, u64),
        on_layer: &mut dyn FnMut(&str, &LayerRead),
    ) -> Result<Self> {
        Self::collect_skipping(input, reader, opts, on_member, on_layer, &|_, _, _| None)
    }

    /// As `collect_observed`; `cached` may give a layer member (by its name, its first bytes
    /// and its size) from the layer cache, and the member then passes unparsed.
    pub fn collect_skipping<R: Read>(
        input: &str,
        reader: R,
        opts: &ReadOptions,
        on_member: &mut dyn FnMut(&str, u64),
        on_layer: &mut dyn FnMut(&str, &LayerRead),
        cached: &CachedMember<'_>,
    ) -> Result<Self> {
        let mut archive = tar::Archive::new(reader);
        let mut documents = HashMap::new();
        let mut layers = HashMap::new();
        let entries = archive
            .entries()
            .map_err(|e| Error::corrupt(input, crate::source::layer_io::describe_io(&e)))?;
        for entry in entries {
            let mut entry = entry
                .map_err(|e| Error::corrupt(input, crate::source::layer_io::describe_io(&e)))?;
            if !entry.header().entry_type().is_file() {
                continue;
            }
            let Ok(Some(name)) = normalize_path(&path_from_bytes(&entry.path_bytes())) else {
                continue;
            };
            let size = entry.size();
            on_member(&name, size);
            // Peek at the start to tell a JSON document from a layer blob.
            let mut head = vec![0u8; DOCUMENT_SNIFF.min(size as usize)];
            entry
                .read_exact(&mut head)
                .map_err(|e| Error::corrupt(input, crate::source::layer_io::describe_io(&e)))?;
            let first = head.iter().find(|b| !b.is_ascii_whitespace());
            let looks_json = matches!(first, Some(b'{') | Some(b'['));
            if looks_json
                || name == "oci-layout"
                || name == "repositories"
                || name.ends_with("/VERSION")
                || name.ends_with("/json")
            {
                check_json_len(input, &name, size, opts.limits.max_json_bytes)?;
                let mut doc = head;
                entry
                    .read_to_end(&mut doc)
                    .map_err(|e| Error::corrupt(input, crate::source::layer_io::describe_io(&e)))?;
                documents.insert(name, doc);
            } else if let Some(read) = cached(&name, &head, size) {
                io::copy(&mut entry, &mut io::sink())
                    .map_err(|e| Error::corrupt(input, crate::source::layer_io::describe_io(&e)))?;
                if let Ok(layer) = &read {
                    on_layer(&name, layer);
                }
                layers.insert(name, read);
            } else {
                let label = format!("{input}: {name}");
                let chained = io::Cursor::new(head).chain(&mut entry);
                // A member that fails to parse only matters if a manifest names it as a layer.
                let read = read_layer_stream(&label, chained, opts, true);
                match &read {
                    Ok(layer) => on_layer(&name, layer),
                    Err(_) => {
                        io::copy(&mut entry, &mut io::sink()).map_err(|e| {
                            Error::corrupt(input, crate::source::layer_io::describe_io(&e))
                        })?;
                    }
                }
                layers.insert(name, read);
            }
        }
        if documents.is_empty() && layers.is_empty() {
            return Err(Error::corrupt(
                input,
                "not an image archive: the tar holds no files",
            ));
        }
        Ok(StreamStore {
            input: input.to_owned(),
            documents,
            layers: Mutex::new(layers),
        })
    }
}

impl BlobStore for StreamStore {
    fn input(&self) -> &str {
        &self.input
    }
    fn contains(&self, member: &str) -> bool {
        self.documents.contains_key(member)
            || self
                .layers
                .lock()
                .map(|l| l.contains_key(member))
                .unwrap_or(false)
    }
    fn read_json(&self, member: &str, _limit: u64) -> Result<Vec<u8>> {
        self.documents
            .get(member)
            .cloned()
            .ok_or_else(|| missing(&self.input, member))
    }
    fn read_layer(&self, member: &str, _opts: &ReadOptions, _hash: bool) -> Result<LayerRead> {
        let mut layers = self
            .layers
            .lock()
            .map_err(|_| Error::corrupt(&self.input, "internal: layer table poisoned"))?;
        if layers.get(member).is_some_and(|r| r.is_err()) {
            if let Some(Err(e)) = layers.remove(member) {
                return Err(e);
            }
        }
        match layers.get(member) {
            // The same blob may serve two layers of one image (identical diffs).
            Some(Ok(read)) => Ok(LayerRead {
                compression: read.compression,
                changes: read.changes.clone(),
                blob_digest: read.blob_digest.clone(),
                blob_bytes: read.blob_bytes,
            }),
            _ => Err(missing(&self.input, member)),
        }
    }
}
