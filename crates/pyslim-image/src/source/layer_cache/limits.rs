//! The limits a read applies, applied to a layer taken from the cache instead: the same
//! image fails the same way with a warm cache as with a cold one.

use pyslim_core::entry::LayerChanges;
use pyslim_core::error::{Error, Result};

use super::super::layer_tar::ReadOptions;

/// Applies the limits a read applies to a layer that was not read (taken from the cache):
/// the same image fails the same way with a warm cache as with a cold one.
pub(crate) fn check_cached_limits(
    input: &str,
    changes: &LayerChanges,
    opts: &ReadOptions,
) -> Result<()> {
    let n = (changes.entries.len() + changes.whiteouts.len() + changes.opaque_dirs.len()) as u64;
    if n > opts.limits.max_entries_per_layer {
        return Err(Error::Limit {
            input: input.to_owned(),
            what: "the number of entries in one layer".into(),
            limit: opts.limits.max_entries_per_layer,
            flag: "--max-entries",
        });
    }
    if opts.entries_read.add(n) > opts.limits.max_total_entries {
        return Err(Error::Limit {
            input: input.to_owned(),
            what: "the number of entries in all layers".into(),
            limit: opts.limits.max_total_entries,
            flag: "--max-total-entries",
        });
    }
    for e in &changes.entries {
        if e.path.len() > opts.limits.max_path_bytes {
            return Err(Error::Limit {
                input: input.to_owned(),
                what: format!("a path of {} bytes", e.path.len()),
                limit: opts.limits.max_path_bytes as u64,
                flag: "--max-path-bytes",
            });
        }
        if e.path.matches('/').count() + 1 > opts.limits.max_path_depth {
            return Err(Error::Limit {
                input: input.to_owned(),
                what: format!("the depth of path {:?}", e.path),
                limit: opts.limits.max_path_depth as u64,
                flag: "--max-path-depth",
            });
        }
    }
    Ok(())
}
