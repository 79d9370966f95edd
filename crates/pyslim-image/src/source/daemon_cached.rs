//! The daemon's image read again with no export: when the disk cache holds every layer of
//! it and a record of an earlier export of the same image id (its config, how it stored each
//! layer), the model is assembled from those alone.

use pyslim_core::error::Result;
use pyslim_core::image::{Image, SourceKind};

use super::assemble::{assemble, Caches, LayerRef, Resolved};
use super::daemon_history::DaemonSummary;
use super::layer_cache::{trace, DiskCache, ImageRecord, RecordLayer};
use super::layer_tar::ReadOptions;
use super::store::{BlobStore, CachedStore, StreamStore};

/// The image again from the disk cache, with no export, when every layer of it is there
/// (and its record, from an earlier export of the same image id).
pub(super) fn read_cached(
    disk: &DiskCache,
    reference: &str,
    input: &str,
    summary: &DaemonSummary,
    env: Option<&[String]>,
    opts: &ReadOptions,
    observer: &dyn super::LoadObserver,
) -> Option<Result<Image>> {
    let record = disk.load_image(&summary.id)?;
    let diff_ids: Vec<&str> = record.layers.iter().map(|l| l.diff_id.as_str()).collect();
    if diff_ids
        != summary
            .diff_ids
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>()
    {
        return None;
    }
    let store = CachedStore::load(disk, input, &record, env, opts)?;
    trace("no-export");
    let resolved = Resolved {
        config_member: record.config_member.clone(),
        config_digest: Some(record.id.clone()),
        layers: record
            .layers
            .iter()
            .map(|l| LayerRef {
                member: l.member.clone(),
                digest: None,
                size: None,
            })
            .collect(),
        warnings: record.warnings.clone(),
    };
    Some(assemble(
        &store,
        resolved,
        reference,
        SourceKind::Docker,
        opts,
        observer,
        Caches::default(),
    ))
}

/// What an export held besides its layers, kept so the next read needs no export.
pub(super) struct ExportShape {
    config_member: String,
    members: Vec<String>,
    warnings: Vec<String>,
}

impl ExportShape {
    pub(super) fn of(resolved: &Resolved) -> Self {
        ExportShape {
            config_member: resolved.config_member.clone(),
            members: resolved.layers.iter().map(|l| l.member.clone()).collect(),
            warnings: resolved.warnings.clone(),
        }
    }

    /// Records the image once every layer of it is in the cache.
    pub(super) fn store(
        self,
        disk: &DiskCache,
        store: &StreamStore,
        id: &str,
        image: &Image,
        max_json: u64,
    ) {
        let Ok(config) = store.read_json(&self.config_member, max_json) else {
            return;
        };
        let layers = self
            .members
            .into_iter()
            .zip(&image.layers)
            .map(|(member, l)| {
                RecordLayer::new(
                    member,
                    l.diff_id.clone(),
                    l.digest.clone(),
                    l.compression,
                    l.blob_bytes.unwrap_or(0),
                )
            })
            .collect();
        if let Some(record) = ImageRecord::new(
            image.id.clone(),
            self.config_member,
            &config,
            layers,
            self.warnings,
        ) {
            disk.store_image(id, &record);
        }
    }
}
