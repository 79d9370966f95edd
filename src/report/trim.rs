//! What a trimming session leaves behind: a short Markdown report, the Dockerfile patch (when
//! the Dockerfile is known) or the changes in words, and the decisions file. Files are
//! written only where the user said, and never over an existing file.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use crate::core::dockerfile::{rewrite, Dockerfile};
use crate::core::findings::RuleSet;
use crate::core::image::Image;
use crate::core::trim::{Decision, Session};
use crate::core::Examination;
use crate::error::{Error, Result};

use super::text::size;
use crate::text::clip_line as clip;

pub struct TrimOutputs {
    pub report: String,
    /// `(patch, edited Dockerfile)` when a Dockerfile was given.
    pub patch: Option<(String, String)>,
    pub decisions: String,
}

pub fn build(
    image: &Image,
    ex: &Examination,
    rules: &RuleSet,
    session: &Session,
    dockerfile: Option<(&str, &str)>,
) -> TrimOutputs {
    let p = session.projection(ex);
    let mut md = String::new();
    let _ = writeln!(md, "# pyslim trim: {}\n", image.reference);
    let pct = if p.before > 0 {
        p.saved() as f64 * 100.0 / p.before as f64
    } else {
        0.0
    };
    let _ = writeln!(
        md,
        "Layers ship {} today; with the accepted fixes they would ship **{}** ({} less, {pct:.1}%).\n",
        size(p.before),
        size(p.after),
        size(p.saved())
    );
    let _ = writeln!(
        md,
        "| decision | finding | bytes | layers |\n| --- | --- | ---: | --- |"
    );
    for (step, &i) in session.order.iter().enumerate() {
        let f = &ex.findings.findings[i];
        let d = match session.decisions[step] {
            Some(Decision::Accept) => "accepted",
            Some(Decision::Skip) => "skipped",
            None => "undecided",
        };
        let layers: Vec<String> = f
            .layers
            .iter()
            .take(2)
            .map(|l| format!("{} `{}`", l.layer, clip(&l.instruction, 50)))
            .collect();
        let _ = writeln!(
            md,
            "| {d} | {} (`{}`) | {} | {} |",
            f.title,
            session.keys[step],
            size(f.bytes),
            layers.join("; ")
        );
    }
    let accepted: Vec<_> = session.accepted(ex).collect();
    if !accepted.is_empty() {
        let _ = writeln!(md, "\n## Fixes\n");
        for f in &accepted {
            let _ = writeln!(
                md,
                "- **{}** ({}): {}\n  {}",
                f.title,
                size(f.bytes),
                f.summary,
                f.fix
            );
        }
    }
    let patch = dockerfile.map(|(name, text)| {
        let df = Dockerfile::parse(text);
        let edits = session.edits(image, ex, rules, &df);
        let new = rewrite::apply(&df, &edits);
        (rewrite::unified_diff(text, &new, name), new)
    });
    match &patch {
        Some((diff, _)) if !diff.is_empty() => {
            let _ = writeln!(md, "\n## Dockerfile patch\n\nApply with `git apply` or `patch -p1`:\n\n```diff\n{diff}```");
        }
        Some(_) => {
            let _ = writeln!(md, "\n## Dockerfile\n\nNo instruction of the Dockerfile's final stage made the accepted bytes; apply the fixes above by hand.");
        }
        None => {
            let _ = writeln!(md, "\n## Dockerfile changes\n\nNo Dockerfile was given (`-f Dockerfile` makes a patch). Change these steps:\n");
            for f in &accepted {
                for l in f.layers.iter().take(3) {
                    let _ = writeln!(
                        md,
                        "- layer {} `{}`: {}",
                        l.layer,
                        clip(&l.instruction, 80),
                        f.fix
                    );
                }
            }
        }
    }
    TrimOutputs {
        report: md,
        patch,
        decisions: session.to_file(image, ex).to_toml(),
    }
}

/// The files a session writes, next to `prefix` (`out/pyslim-trim` → `out/pyslim-trim.md`, …).
pub fn paths(prefix: &Path, with_patch: bool) -> Vec<PathBuf> {
    let base = prefix.to_string_lossy().into_owned();
    let mut v = vec![
        PathBuf::from(format!("{base}.md")),
        PathBuf::from(format!("{base}.decisions.toml")),
    ];
    if with_patch {
        v.push(PathBuf::from(format!("{base}.patch")));
    }
    v
}

/// Writes the outputs; refuses, writing nothing, if any of the files exists.
pub fn write(prefix: &Path, out: &TrimOutputs) -> Result<Vec<PathBuf>> {
    let targets = paths(prefix, out.patch.is_some());
    if let Some(existing) = targets.iter().find(|p| p.exists()) {
        return Err(Error::Usage(format!(
            "{} exists; pyslim never writes over a file: choose another prefix with -o",
            existing.display()
        )));
    }
    if let Some(dir) = prefix.parent().filter(|d| !d.as_os_str().is_empty()) {
        if !dir.is_dir() {
            return Err(Error::Usage(format!(
                "{}: no such directory",
                dir.display()
            )));
        }
    }
    let mut contents = vec![out.report.clone(), out.decisions.clone()];
    if let Some((diff, _)) = &out.patch {
        contents.push(diff.clone());
    }
    for (path, text) in targets.iter().zip(contents) {
        // create_new: fails rather than replace a file that appeared meanwhile.
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(path)
            .map_err(|e| Error::io(path, e))?;
        std::io::Write::write_all(&mut f, text.as_bytes()).map_err(|e| Error::io(path, e))?;
    }
    Ok(targets)
}
