//! Writing a trimmed image from a checked plan (`pyslim_core::trim_image::checked_plan`):
//! rewrite the layers (`rewrite`), then read the result back and check that it shows exactly
//! the planned tree and that every layer matches its diff_id. `crate::trim_job` drives it.

use std::path::{Path, PathBuf};

use crate::source::layer_tar::ReadOptions;
use crate::source::{Limits, OpenOptions, SourceChoice};
use pyslim_core::error::{Error, Result};
use pyslim_core::image::{HistoryEntry, Image};
use pyslim_core::trim_image::{final_listing, TrimPlan};
use pyslim_core::Examination;

use super::rewrite::{rewrite, RewriteOptions, Rewritten};
use super::ArchiveFormat;

#[derive(Debug, Clone)]
pub struct TrimmedOptions {
    pub format: ArchiveFormat,
    pub squash: bool,
    pub tag: Option<String>,
    pub platform: Option<String>,
    /// Write over an existing output file.
    pub force: bool,
    pub limits: Limits,
}

pub struct Trimmed {
    pub plan: TrimPlan,
    pub written: Rewritten,
    pub path: PathBuf,
}

/// The history entry that says what pyslim removed.
fn history_entry(plan: &TrimPlan, squash: bool) -> HistoryEntry {
    let text = pyslim_core::format::size;
    let mut by = format!(
        "pyslim trim: removed {} of accepted findings ({})",
        text(plan.removed_bytes()),
        if plan.applied.is_empty() {
            "none".to_owned()
        } else {
            plan.applied.join(", ")
        }
    );
    by.push_str(&format!(
        " and {} hidden by later layers",
        text(plan.hidden_bytes())
    ));
    if squash {
        by.push_str("; squashed into one layer");
    }
    HistoryEntry {
        created: Some(pyslim_core::format::utc_now_rfc3339()),
        created_by: by,
        comment: Some("pyslim trim".into()),
        empty_layer: !squash,
    }
}

/// Refuses an output that is the source image itself, under any name (a symlink or a hard
/// link too), even with `--force`: the rewrite reads the source while writing, and an
/// in-place write that then failed would leave the user with neither image.
pub fn refuse_source_as_output(source: &Path, out: &Path) -> Result<()> {
    if same_file(source, out) {
        return Err(Error::Usage(format!(
            "{} is the image being trimmed; pyslim never writes a trimmed image over its source, even with --force: choose another prefix with -o",
            out.display()
        )));
    }
    Ok(())
}

/// Whether both paths name one existing file. Device and inode catch hard links, which
/// canonical paths do not; canonical paths are the fallback off Unix.
fn same_file(a: &Path, b: &Path) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        match (std::fs::metadata(a), std::fs::metadata(b)) {
            (Ok(x), Ok(y)) => x.dev() == y.dev() && x.ino() == y.ino(),
            // A path that does not exist cannot be the source.
            _ => false,
        }
    }
    #[cfg(not(unix))]
    {
        matches!((a.canonicalize(), b.canonicalize()), (Ok(x), Ok(y)) if x == y)
    }
}

/// Writes the trimmed image to `out` from `source`, the image's archive or layout (whose
/// layers must hash to `expected_diff_ids` when given). Never writes over a file unless
/// `force`, never over the source at all; the archive is checked before it takes its name,
/// so on any failure no output is left behind and a file already at `out` is kept.
pub fn write_trimmed(
    source: &Path,
    expected_diff_ids: Option<&[String]>,
    image: &Image,
    ex: &Examination,
    plan: &TrimPlan,
    opts: &TrimmedOptions,
    out: &Path,
) -> Result<Trimmed> {
    if out.exists() && !opts.force {
        return Err(Error::Usage(format!(
            "{} exists; pyslim never writes over a file unless --force: choose another prefix with -o",
            out.display()
        )));
    }
    refuse_source_as_output(source, out)?;
    let filters: Vec<_> = image
        .layers
        .iter()
        .zip(&plan.layers)
        .map(|(l, keep)| keep.filter(&l.changes, opts.squash))
        .collect();
    let rewrite_opts = RewriteOptions {
        format: opts.format,
        squash: opts.squash,
        tag: opts.tag.clone(),
        history: history_entry(plan, opts.squash),
        platform: opts.platform.clone(),
        max_json_bytes: opts.limits.max_json_bytes,
    };
    let (written, archive) = rewrite(source, expected_diff_ids, &filters, &rewrite_opts, out)?;
    // Checked under its temporary name: a failure drops the guard, which removes it.
    verify(archive.path(), out, ex, plan, opts)?;
    archive.persist(out)?;
    Ok(Trimmed {
        plan: plan.clone(),
        written,
        path: out.to_owned(),
    })
}

/// Reads the written image back (at `at`, to become `out`), hashing every layer against its
/// diff_id, and compares its final tree with the plan's.
fn verify(
    at: &Path,
    out: &Path,
    ex: &Examination,
    plan: &TrimPlan,
    opts: &TrimmedOptions,
) -> Result<()> {
    let reread = crate::source::open(
        &at.display().to_string(),
        &OpenOptions {
            source: SourceChoice::Auto,
            platform: opts.platform.clone(),
            read: ReadOptions {
                verify_diff_ids: true,
                skip_contents: true,
                limits: opts.limits,
                ..Default::default()
            },
            ..Default::default()
        },
    )?;
    let tree = pyslim_core::tree::Tree::build(&reread.layers);
    let got = final_listing(&tree, None);
    let want = plan.expected_paths(&ex.tree);
    if got != want {
        let missing = want.iter().find(|w| !got.contains(w));
        let extra = got.iter().find(|g| !want.contains(g));
        return Err(Error::corrupt(
            out.display().to_string(),
            format!(
                "internal: the written image differs from the plan (missing {:?}, unexpected {:?}); nothing was kept",
                missing.map(|m| &m.0),
                extra.map(|e| &e.0)
            ),
        ));
    }
    Ok(())
}
