//! Layers of a stream (the daemon's export, a compressed `docker save`) that the cache
//! holds: known by their member name, they pass without being parsed.

use pyslim_core::error::Result;
use pyslim_core::image::Compression;

use super::super::layer_tar::{sniff_compression, LayerRead, ReadOptions};
use super::check_cached_limits;
use super::{digest_hex, DiskCache, LayerKey};

/// `<v1 id>/layer.tar`, the legacy `docker save` name of a layer: the id is derived from the
/// layer's chain, so one name always holds the same layer.
fn legacy_id(member: &str) -> Option<&str> {
    let id = member.strip_suffix("/layer.tar")?;
    (id.len() == 64 && id.bytes().all(|b| b.is_ascii_hexdigit())).then_some(id)
}

/// `blobs/sha256/<hex>`: named by its digest.
fn blob_digest(member: &str) -> Option<String> {
    let hex = member.strip_prefix("blobs/sha256/")?;
    let digest = format!("sha256:{hex}");
    digest_hex(&digest).is_some().then_some(digest)
}

impl DiskCache {
    /// Records that a stream's member `member` held the layer `diff_id` (legacy names only:
    /// a blob's name is its digest, mapped when the layer is stored).
    pub fn map_member(&self, member: &str, diff_id: &str) {
        if let Some(id) = legacy_id(member) {
            self.map_digest(&format!("sha256:{id}"), diff_id);
        }
    }

    /// The cached layer a stream's member holds, as a read of it would give it; `None` when
    /// it must be read. `verify`: the blob's digest is reported, as a read under --verify
    /// reports it.
    pub fn stream_member(
        &self,
        input: &str,
        member: &str,
        head: &[u8],
        size: u64,
        opts: &ReadOptions,
        verify: bool,
    ) -> Option<Result<LayerRead>> {
        let compression = sniff_compression(head);
        let named = blob_digest(member);
        let diff_id = match (&named, legacy_id(member)) {
            (Some(d), _) => self.diff_id_for(d).unwrap_or_else(|| d.clone()),
            (None, Some(id)) => self.diff_id_for(&format!("sha256:{id}"))?,
            _ => return None,
        };
        // A compressed blob reports its own digest: known only from a blob's name.
        let blob = match compression {
            Compression::None => verify.then(|| diff_id.clone()),
            _ => Some(named?),
        };
        let label = format!("{input}: {member}");
        self.streamed_layer(&label, &diff_id, compression, blob, size, opts)
    }

    /// A layer read as a stream (a registry blob, a member of an export), from the cache:
    /// what reading it under `label` would give, with the blob's own facts (`blob_digest`
    /// as the read would report it, `blob_bytes`), and the read's limits applied. `None`
    /// when the cache does not hold it. For a source that streams layers (the registry):
    /// ask with the diff_id from the image config (or `diff_id_for` a blob digest) before
    /// fetching a blob; store what a read gave with `store_layer` and `seekable: false`.
    pub fn streamed_layer(
        &self,
        label: &str,
        diff_id: &str,
        compression: Compression,
        blob_digest: Option<String>,
        blob_bytes: u64,
        opts: &ReadOptions,
    ) -> Option<Result<LayerRead>> {
        let key = LayerKey {
            diff_id,
            compression,
            seekable: false,
            contents: !opts.skip_contents,
        };
        let changes = self.load_layer(&key, label)?;
        Some(
            check_cached_limits(label, &changes, opts).map(|()| LayerRead {
                compression,
                changes,
                blob_digest,
                blob_bytes,
            }),
        )
    }
}
