//! `pyslim cache`: where the layer cache is, what it holds, and pruning or clearing it.

use std::io::Write;
use std::process::ExitCode;

use pyslim::cli::{CacheAction, CacheArgs};
use pyslim::source::layer_cache::{self, DiskCache};
use pyslim::Result;

use super::inputs::cache_bound;

pub(crate) fn run_cache(args: CacheArgs) -> Result<ExitCode> {
    let Some(dir) = layer_cache::default_dir() else {
        return Err(pyslim::Error::Usage(
            "no cache directory: set PYSLIM_CACHE_DIR, XDG_CACHE_HOME or HOME".into(),
        ));
    };
    let cache = DiskCache::open(&dir, cache_bound()).map_err(|e| pyslim::Error::io(&dir, e))?;
    let action = args.action.unwrap_or(CacheAction::Show);
    let (removed, freed) = match action {
        CacheAction::Show => (0, 0),
        CacheAction::Prune => cache.prune_to(cache.max_bytes()),
        CacheAction::Clear => cache.clear(),
    };
    let usage = cache.usage();
    let out = if args.json {
        let entries: Vec<_> = usage
            .entries
            .iter()
            .map(|e| {
                serde_json::json!({
                    "name": e.name,
                    "bytes": e.bytes,
                    "last_used": e.last_used
                        .duration_since(std::time::UNIX_EPOCH)
                        .map(|d| d.as_secs())
                        .unwrap_or(0),
                })
            })
            .collect();
        serde_json::to_string_pretty(&serde_json::json!({
            "schema": "pyslim.cache/v1",
            "dir": cache.root().display().to_string(),
            "bytes": usage.bytes,
            "max_bytes": cache.max_bytes(),
            "layers": usage.layers(),
            "removed": removed,
            "freed_bytes": freed,
            "entries": entries,
        }))
        .unwrap_or_default()
    } else {
        let size = pyslim::core::format::size;
        let mut text = String::new();
        if action != CacheAction::Show {
            text.push_str(&format!("removed {removed} files ({})\n", size(freed)));
        }
        text.push_str(&format!(
            "{}: {} in {} files ({} layers), bound {}\n",
            cache.root().display(),
            size(usage.bytes),
            usage.entries.len(),
            usage.layers(),
            size(cache.max_bytes())
        ));
        for e in &usage.entries {
            text.push_str(&format!("{:>10}  {}\n", size(e.bytes), e.name));
        }
        text
    };
    let mut stdout = std::io::stdout().lock();
    let _ = write!(stdout, "{out}");
    if !out.ends_with('\n') {
        let _ = writeln!(stdout);
    }
    Ok(ExitCode::SUCCESS)
}
