//! What a trimming session leaves behind: a short Markdown report, the Dockerfile patch (when
//! the Dockerfile is known) or the changes in words, and the decisions file. Files are
//! written only where the user said, and never over an existing file.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use crate::core::dockerfile::{rewrite, Dockerfile};
use crate::core::findings::RuleSet;
use crate::core::image::Image;
use crate::core::trim_session::{patch, Decision, Projection, Session};
use crate::core::Examination;
use crate::error::{Error, Result};

use super::text::size;
use crate::format::clip_line as clip;

pub struct TrimOutputs {
    pub report: String,
    /// `(patch, edited Dockerfile)` when a Dockerfile was given.
    pub patch: Option<(String, String)>,
    pub decisions: String,
    /// The figures the report states, for the caller to print the same ones.
    pub projection: Projection,
}

pub fn build(
    image: &Image,
    ex: &Examination,
    rules: &RuleSet,
    session: &Session,
    dockerfile: Option<(&str, &str)>,
) -> TrimOutputs {
    let parsed = dockerfile.map(|(name, text)| (name, text, Dockerfile::parse(text)));
    let p = session.projection(image, ex, rules, parsed.as_ref().map(|(_, _, df)| df));
    let mut md = String::new();
    let _ = writeln!(md, "# pyslim trim: {}\n", image.reference);
    let _ = writeln!(md, "{}\n", headline(&p));
    if !p.problems.is_empty() {
        let _ = writeln!(
            md,
            "**The trimmed image cannot be written** with these decisions; it would break the app:\n"
        );
        for problem in &p.problems {
            let _ = writeln!(md, "- {problem}");
        }
        let _ = writeln!(md);
    }
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
    let patch = parsed.as_ref().map(|(name, text, df)| {
        let planned = patch::plan(session, image, ex, rules, df);
        let new = rewrite::apply(df, &planned.edits);
        (rewrite::unified_diff(text, &new, name), new, planned)
    });
    if let Some((_, _, planned)) = &patch {
        if !planned.outcomes.is_empty() {
            let _ = writeln!(
                md,
                "\n## What the Dockerfile patch realises\n\n| finding | saved by the patch | left to you |\n| --- | ---: | --- |"
            );
            for o in &planned.outcomes {
                let saved = if o.saved == 0 {
                    "manual, 0 B saved by the patch".to_owned()
                } else {
                    size(o.saved)
                };
                let _ = writeln!(
                    md,
                    "| {} (`{}`) | {saved} | {} |",
                    o.title,
                    o.key,
                    o.manual.join("; ")
                );
            }
        }
    }
    let patch = patch.map(|(diff, new, _)| (diff, new));
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
        projection: p,
    }
}

/// The projection in one sentence: the trimmed image's figures, and the patch's apart.
pub fn headline(p: &Projection) -> String {
    let pct = |saved: u64| {
        if p.before > 0 {
            saved as f64 * 100.0 / p.before as f64
        } else {
            0.0
        }
    };
    let mut s = format!(
        "Layers ship {} today; the trimmed image (`pyslim trim --decisions`) would ship **{}** ({} less, {:.1}%).",
        size(p.before),
        size(p.after),
        size(p.saved()),
        pct(p.saved())
    );
    if let Some(saved) = p.patch_saved {
        s.push_str(&format!(
            " The patched Dockerfile saves {} ({:.1}%): about {} once rebuilt.",
            size(saved),
            pct(saved),
            size(p.before.saturating_sub(saved))
        ));
    }
    s
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

/// The heading under which a run that wrote the trimmed image adds its summary to PREFIX.md.
pub const IMAGE_SECTION: &str = "\n## Trimmed image\n";

/// What happens to one output file.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    Create,
    /// It exists and may be replaced: --force, or it is this session's own report.
    Replace,
    /// It exists and is left as it is; the words say why.
    Keep(&'static str),
}

/// One output file and its contents.
#[derive(Debug, Clone)]
pub struct Planned {
    pub path: PathBuf,
    pub text: String,
    pub action: Action,
}

/// Reads an existing output to compare with, when it is small enough to be pyslim's.
fn existing_text(path: &Path) -> Option<String> {
    let len = std::fs::metadata(path).ok()?.len();
    if len > 64 << 20 {
        return None;
    }
    std::fs::read_to_string(path).ok()
}

fn same_file(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    }
}

/// Decides, before anything is written, what becomes of each output, and refuses (writing
/// nothing) when one exists that pyslim may not touch. An existing file is left alone when
/// it is the decisions file this run reads (a session's own file fed back) or already holds
/// exactly what would be written. PREFIX.md that is exactly this session's report (as a
/// session or a `--no-image` run leaves it) is replaced when `with_image` adds the trimmed
/// image's section to it. Anything else (an edited report, one with an earlier run's image
/// section) needs `force`.
pub fn plan_outputs(
    prefix: &Path,
    out: &TrimOutputs,
    input: Option<&Path>,
    with_image: bool,
    force: bool,
) -> Result<Vec<Planned>> {
    if let Some(dir) = prefix.parent().filter(|d| !d.as_os_str().is_empty()) {
        if !dir.is_dir() {
            return Err(Error::Usage(format!(
                "{}: no such directory",
                dir.display()
            )));
        }
    }
    let targets = paths(prefix, out.patch.is_some());
    let mut contents = vec![out.report.clone(), out.decisions.clone()];
    if let Some((diff, _)) = &out.patch {
        contents.push(diff.clone());
    }
    let mut planned = Vec::new();
    for (i, (path, text)) in targets.into_iter().zip(contents).enumerate() {
        let is_report = i == 0;
        let action = if !path.exists() && path.symlink_metadata().is_err() {
            Action::Create
        } else if input.is_some_and(|inp| same_file(inp, &path)) {
            Action::Keep("it is the decisions file this run reads")
        } else {
            let same = existing_text(&path).as_deref() == Some(text.as_str());
            if same && is_report && with_image {
                // The session's report, unedited: this run adds its trimmed-image section.
                Action::Replace
            } else if same {
                Action::Keep("it already says this")
            } else if force {
                Action::Replace
            } else {
                return Err(Error::Usage(format!(
                    "{} exists; pyslim never writes over a file unless --force: choose another prefix with -o",
                    path.display()
                )));
            }
        };
        planned.push(Planned { path, text, action });
    }
    Ok(planned)
}

/// Writes what `plan_outputs` decided: new files with `create_new` (a file that appeared
/// meanwhile is not replaced), replaced ones through a hidden file renamed over them.
pub fn write_planned(planned: &[Planned]) -> Result<()> {
    for p in planned {
        match p.action {
            Action::Keep(_) => {}
            Action::Create => {
                let mut f = std::fs::OpenOptions::new()
                    .write(true)
                    .create_new(true)
                    .open(&p.path)
                    .map_err(|e| Error::io(&p.path, e))?;
                std::io::Write::write_all(&mut f, p.text.as_bytes())
                    .map_err(|e| Error::io(&p.path, e))?;
            }
            Action::Replace => {
                let (partial, mut f) = crate::temp_files::Partial::create(&p.path, "new")?;
                std::io::Write::write_all(&mut f, p.text.as_bytes())
                    .map_err(|e| Error::io(partial.path(), e))?;
                drop(f);
                partial.persist(&p.path)?;
            }
        }
    }
    Ok(())
}

/// Writes the outputs (the trim screen's files); refuses, writing nothing, if one exists
/// that pyslim may not touch (see `plan_outputs`).
pub fn write(prefix: &Path, out: &TrimOutputs) -> Result<Vec<PathBuf>> {
    let planned = plan_outputs(prefix, out, None, false, false)?;
    write_planned(&planned)?;
    Ok(planned.into_iter().map(|p| p.path).collect())
}
