//! An image whose every layer is in the disk cache: the daemon's image read again with no
//! export at all. Its config comes from the cache's record (the environment from inspect).

use std::collections::HashMap;
use std::sync::Mutex;

use rayon::prelude::*;

use pyslim_core::error::{Error, Result};

use super::super::layer_cache::check_cached_limits;
use super::super::layer_cache::{DiskCache, ImageRecord, LayerKey};
use super::super::layer_tar::{LayerRead, ReadOptions};
use super::{missing, BlobStore};

pub struct CachedStore {
    input: String,
    config_member: String,
    config: Vec<u8>,
    /// Each layer member, once per layer that names it.
    layers: Mutex<HashMap<String, Vec<LayerRead>>>,
}

impl CachedStore {
    /// The image `record` describes, when every one of its layers loads from `disk`.
    pub fn load(
        disk: &DiskCache,
        input: &str,
        record: &ImageRecord,
        env: Option<&[String]>,
        opts: &ReadOptions,
    ) -> Option<Self> {
        let config = record.config_with_env(env)?;
        let reads: Vec<(String, LayerRead)> = record
            .layers
            .par_iter()
            .map(|l| {
                let key = LayerKey {
                    diff_id: &l.diff_id,
                    compression: l.compression(),
                    seekable: false,
                    contents: !opts.skip_contents,
                };
                let label = format!("{input}: {}", l.member);
                let changes = disk.load_layer(&key, &label)?;
                Some((
                    l.member.clone(),
                    LayerRead {
                        compression: l.compression(),
                        changes,
                        blob_digest: l.digest.clone(),
                        blob_bytes: l.blob_bytes,
                    },
                ))
            })
            .collect::<Option<_>>()?;
        let mut layers: HashMap<String, Vec<LayerRead>> = HashMap::new();
        for (member, read) in reads {
            layers.entry(member).or_default().push(read);
        }
        Some(CachedStore {
            input: input.to_owned(),
            config_member: record.config_member.clone(),
            config,
            layers: Mutex::new(layers),
        })
    }
}

impl BlobStore for CachedStore {
    fn input(&self) -> &str {
        &self.input
    }
    fn contains(&self, member: &str) -> bool {
        member == self.config_member
            || self
                .layers
                .lock()
                .map(|l| l.contains_key(member))
                .unwrap_or(false)
    }
    fn read_json(&self, member: &str, _limit: u64) -> Result<Vec<u8>> {
        if member == self.config_member {
            Ok(self.config.clone())
        } else {
            Err(missing(&self.input, member))
        }
    }
    fn read_layer(&self, member: &str, opts: &ReadOptions, _hash: bool) -> Result<LayerRead> {
        let read = self
            .layers
            .lock()
            .map_err(|_| Error::corrupt(&self.input, "internal: layer table poisoned"))?
            .get_mut(member)
            .and_then(Vec::pop)
            .ok_or_else(|| missing(&self.input, member))?;
        check_cached_limits(&format!("{}: {member}", self.input), &read.changes, opts)?;
        Ok(read)
    }
}
