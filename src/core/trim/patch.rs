//! What the Dockerfile patch of a trimming session does, finding by finding: an edit that
//! realises the finding where one can (clean-up appended to the RUN that wrote the bytes,
//! `apt-get purge --auto-remove` of the build-only packages that RUN installed, pip's tools
//! uninstalled with the venv's own pip in the last RUN that uses it), and the bytes that
//! edit saves. A removal only saves bytes written by the same RUN: deleting in a later step
//! leaves them in the lower layer. Everything else is a note for a person and saves 0 B.

use rustc_hash::FxHashSet;

use super::super::dockerfile::rewrite::Edit;
use super::super::dockerfile::{layer_instructions, Dockerfile, Instruction};
use super::super::findings::{own_bytes, Finding, Rule, RuleSet};
use super::super::image::Image;
use super::super::tree::NodeId;
use super::super::Examination;
use super::Session;

/// What the patch does for one accepted finding.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    /// The session key (`compilers`, `wasted-bytes#2`).
    pub key: String,
    pub title: String,
    /// Bytes the patched Dockerfile no longer ships (each byte counted for one finding).
    pub saved: u64,
    /// Why (part of) the finding is left to a person; empty when the patch realises it all.
    pub manual: Vec<String>,
}

/// The patch's edits and what they realise.
#[derive(Debug, Clone, Default)]
pub struct PatchPlan {
    pub edits: Vec<Edit>,
    pub outcomes: Vec<Outcome>,
}

impl PatchPlan {
    pub fn saved(&self) -> u64 {
        self.outcomes.iter().map(|o| o.saved).sum()
    }
}

/// Commands in a later RUN that may need a compiler or headers (building from source).
const BUILDS: &[&str] = &[
    "pip install",
    "pip3 install",
    "pip wheel",
    "setup.py",
    "make",
    "gcc",
    "g++",
    "cc ",
    "cmake",
    "cargo",
    "uv pip",
    "poetry install",
];

/// Rules whose bytes are packages `apt-get purge --auto-remove` takes away.
fn is_package_rule(rule: &Rule) -> bool {
    !rule.packages.is_empty() && rule.paths.is_empty() || rule.id == "compilers"
}

/// A clean-up that may fail on purpose (`… || true`), or is a list of its own, is grouped,
/// so its `||` or `;` cannot swallow a failure of the commands before it in the RUN
/// (`install && find … || true` carries on, with status 0, after `install` fails).
fn grouped(shell: &str) -> String {
    if shell.contains('|') || shell.contains(';') {
        format!("{{ {shell}; }}")
    } else {
        shell.to_owned()
    }
}

/// Words of `apt-get install` (or `apt install`) arguments in a RUN: the package names.
fn apt_installed(args: &str) -> Vec<String> {
    let mut out = Vec::new();
    for part in args.split(['&', ';', '|', '\n']) {
        let words: Vec<&str> = part.split_whitespace().filter(|w| *w != "\\").collect();
        let Some(at) = words.iter().position(|w| *w == "install") else {
            continue;
        };
        if !words[..at].iter().any(|w| *w == "apt-get" || *w == "apt") {
            continue;
        }
        for w in &words[at + 1..] {
            if !w.starts_with('-') {
                out.push(w.split('=').next().unwrap_or(w).to_owned());
            }
        }
    }
    out
}

/// Later RUNs of the final stage that match `what`.
fn later_runs<'a>(
    df: &'a Dockerfile,
    after: usize,
) -> impl Iterator<Item = (usize, &'a Instruction)> {
    let stage = df.instructions.get(after).map(|i| i.stage);
    df.instructions
        .iter()
        .enumerate()
        .skip(after + 1)
        .filter(move |(_, i)| Some(i.stage) == stage && i.keyword == "RUN")
}

fn uses_pip(args: &str) -> bool {
    args.contains("pip ") || args.contains("pip3 ") || args.contains("-m pip")
}

/// Files of the finding the final image shows from layer `l`.
fn files_from_layer(ex: &Examination, f: &Finding, l: u32) -> Vec<NodeId> {
    f.files
        .iter()
        .copied()
        .filter(|&n| ex.tree.final_state(n).is_some_and(|e| e.layer == l))
        .collect()
}

/// The patch for the session's accepted findings.
pub fn plan(
    session: &Session,
    image: &Image,
    ex: &Examination,
    rules: &RuleSet,
    df: &Dockerfile,
) -> PatchPlan {
    let made_by = layer_instructions(df, image);
    let mut out = PatchPlan::default();
    let mut counted: FxHashSet<NodeId> = FxHashSet::default();
    let mut purges: Vec<Edit> = Vec::new();
    let mut others: Vec<Edit> = Vec::new();
    for ((key, &i), d) in session
        .keys
        .iter()
        .zip(&session.order)
        .zip(&session.decisions)
    {
        if *d != Some(super::Decision::Accept) {
            continue;
        }
        let f = &ex.findings.findings[i];
        let mut outcome = Outcome {
            key: key.clone(),
            title: f.title.clone(),
            saved: 0,
            manual: Vec::new(),
        };
        let Some(rule) = rules.rules.iter().find(|r| r.id == f.rule) else {
            outcome
                .manual
                .push("no rule in force says how to fix it".into());
            out.outcomes.push(outcome);
            continue;
        };
        let why = format!(
            "{} ({}, {key})",
            f.title,
            crate::report::text::size(f.bytes)
        );
        if let Some(env) = &rule.set_env {
            others.push(Edit::AddEnv {
                assignment: env.clone(),
                why: why.clone(),
            });
        }
        let mut realised: Vec<NodeId> = Vec::new();
        for share in &f.layers {
            let Some(&Some(at)) = made_by.get(share.layer as usize) else {
                outcome.manual.push(format!(
                    "layer {} was not made by this Dockerfile's final stage",
                    share.layer
                ));
                continue;
            };
            let ins = &df.instructions[at];
            let runnable = ins.keyword == "RUN" && !ins.json_form && !ins.heredoc;
            if f.rule == "wasted-bytes" {
                if let Some(rm) = later_rm(ex, f, share.layer, &made_by, df).filter(|_| runnable) {
                    others.push(Edit::AppendToRun {
                        instruction: at,
                        shell: rm,
                        why: why.clone(),
                    });
                    // Hidden bytes are no final-image files: counted once, by finding.
                    outcome.saved += share.bytes;
                    continue;
                }
                outcome.manual.push(format!(
                    "bytes of layer {} are rewritten or deleted by a later step: make that change in the step that wrote them (line {})",
                    share.layer,
                    ins.first_line + 1
                ));
                continue;
            }
            if !runnable {
                let text = if !rule.dockerignore.is_empty()
                    && (ins.keyword == "COPY" || ins.keyword == "ADD")
                {
                    format!("add to .dockerignore: {}", rule.dockerignore.join(" "))
                } else {
                    rule.fix.clone()
                };
                others.push(Edit::Note {
                    instruction: at,
                    text: format!("{why}: {text}"),
                });
                outcome.manual.push(format!(
                    "layer {} is `{}`: {text}",
                    share.layer, ins.keyword
                ));
                continue;
            }
            if is_package_rule(rule) {
                match purge(ex, rule, f, share.layer, at, df, &made_by) {
                    Ok(shell) => {
                        purges.push(Edit::AppendToRun {
                            instruction: at,
                            shell,
                            why: why.clone(),
                        });
                        realised.extend(files_from_layer(ex, f, share.layer));
                    }
                    Err(reason) => {
                        others.push(Edit::Note {
                            instruction: at,
                            text: format!("{why}: {reason}; {}", rule.fix),
                        });
                        outcome.manual.push(reason);
                    }
                }
                continue;
            }
            if f.rule == "locales" {
                if let Some(shell) = locales_cleanup(ex, f, share.layer) {
                    others.push(Edit::AppendToRun {
                        instruction: at,
                        shell,
                        why: why.clone(),
                    });
                    realised.extend(files_from_layer(ex, f, share.layer));
                    continue;
                }
            }
            let Some(shell) = &rule.cleanup else {
                others.push(Edit::Note {
                    instruction: at,
                    text: format!("{why}: {}", rule.fix),
                });
                outcome.manual.push(format!(
                    "no clean-up command for layer {}: {}",
                    share.layer, rule.fix
                ));
                continue;
            };
            if rule.id == "python-packaging-tools" {
                match uninstall_tools(ex, f, at, df) {
                    Some((target, shell)) => {
                        let target_layer = made_by.iter().position(|m| *m == Some(target));
                        if target != at {
                            outcome.manual.push(format!(
                                "a later RUN (line {}) uses pip: the tools are uninstalled there, which saves only what that step wrote",
                                df.instructions[target].first_line + 1
                            ));
                        }
                        let edit = Edit::AppendToRun {
                            instruction: target,
                            shell,
                            why: why.clone(),
                        };
                        if !others.contains(&edit) {
                            others.push(edit);
                        }
                        if let Some(l) = target_layer {
                            realised.extend(files_from_layer(ex, f, l as u32));
                        }
                    }
                    None => outcome.manual.push(
                        "the tools belong to the system Python (Debian's pip refuses to uninstall them: PEP 668); build in a separate stage".into(),
                    ),
                }
                continue;
            }
            others.push(Edit::AppendToRun {
                instruction: at,
                shell: grouped(shell),
                why: why.clone(),
            });
            realised.extend(files_from_layer(ex, f, share.layer));
        }
        for n in realised {
            if counted.insert(n) {
                outcome.saved += own_bytes(&ex.tree, n);
            }
        }
        out.outcomes.push(outcome);
    }
    // Packages go first in a RUN: apt needs its lists and caches only until then.
    out.edits = purges;
    out.edits.extend(others);
    out
}

/// `apt-get purge -y --auto-remove NAMES` for the finding's packages that the RUN at `at`
/// installs by name, or why the RUN cannot take it.
fn purge(
    ex: &Examination,
    rule: &Rule,
    f: &Finding,
    layer: u32,
    at: usize,
    df: &Dockerfile,
    made_by: &[Option<usize>],
) -> Result<String, String> {
    let ins = &df.instructions[at];
    let installed = apt_installed(&ins.args);
    // Every package of the finding with files this layer wrote, by name: autoremove alone
    // keeps the toolchain (apt Suggests dpkg-dev, which Recommends gcc, and apt counts both
    // as important), so naming only build-essential would leave gcc, make and binutils.
    let mut names: Vec<String> = Vec::new();
    for n in files_from_layer(ex, f, layer) {
        if let Some(&p) = ex.inventory.owner.get(&n) {
            let name = &ex.inventory.os_packages[p].name;
            if !names.contains(name) {
                names.push(name.clone());
            }
        }
    }
    if installed.is_empty() {
        return Err(format!(
            "line {}: the packages were not installed by an `apt-get install` there",
            ins.first_line + 1
        ));
    }
    // What the RUN names that the rule claims: a meta-package (build-essential) owns no
    // file of the finding but pulls the compilers in.
    let claims = crate::core::findings::paths::glob_set(&rule.packages);
    for name in &installed {
        if claims.is_match(name) && !names.contains(name) {
            names.push(name.clone());
        }
    }
    if names.is_empty() {
        return Err(format!(
            "line {}: no package of the finding was installed there",
            ins.first_line + 1
        ));
    }
    let may_build = |(n, i): &(usize, &Instruction)| {
        BUILDS.iter().any(|b| i.args.contains(b)) && !only_prebuilt_wheels(ex, made_by, *n)
    };
    if let Some((_, later)) = later_runs(df, at).find(may_build) {
        return Err(format!(
            "a later RUN (line {}) may build with them (`{}`): purge them after it, or build in a separate stage (pyslim propose)",
            later.first_line + 1,
            crate::text::clip_line(&later.args, 50)
        ));
    }
    names.sort();
    Ok(format!(
        "apt-get purge -y --auto-remove {}",
        names.join(" ")
    ))
}

/// For bytes layer `layer` wrote and one later RUN deleted with nothing but `rm`
/// (`RUN rm -rf /tmp/wheels`): that `rm`, to run in the RUN that wrote them instead, where
/// deleting saves the bytes. None when anything else hid them (a rewrite, a COPY, a RUN
/// doing more than removing).
fn later_rm(
    ex: &Examination,
    f: &Finding,
    layer: u32,
    made_by: &[Option<usize>],
    df: &Dockerfile,
) -> Option<String> {
    let names: FxHashSet<&str> = f.items.iter().map(|i| i.name.as_str()).collect();
    let mut hiders: Vec<u32> = ex
        .tree
        .inodes
        .iter()
        .filter(|i| {
            i.layer == layer && !i.visible() && names.contains(ex.tree.path(i.node).as_str())
        })
        .filter_map(|i| i.hidden_by)
        .collect();
    hiders.sort_unstable();
    hiders.dedup();
    let [hider] = hiders[..] else { return None };
    if hider == layer {
        return None;
    }
    // Every hidden byte of the finding went in that layer, by deletion.
    let deleted = ex
        .tree
        .inodes
        .iter()
        .filter(|i| i.layer == layer && i.hidden_by == Some(hider))
        .all(|i| {
            ex.tree
                .node(i.node)
                .events
                .iter()
                .chain(ancestors_events(ex, i.node).iter())
                .any(|e| e.layer == hider && e.change == crate::core::tree::Change::Deleted)
        });
    if !deleted {
        return None;
    }
    let at = (*made_by.get(hider as usize)?)?;
    let ins = &df.instructions[at];
    if ins.keyword != "RUN" || ins.json_form || ins.heredoc {
        return None;
    }
    let parts: Vec<&str> = ins.args.split("&&").map(str::trim).collect();
    let only_rm = parts
        .iter()
        .all(|p| p.starts_with("rm ") && !p.contains(['|', ';', '$', '`']));
    only_rm.then(|| parts.join(" && "))
}

/// The events of every directory above `n`: a file goes when a directory above it is deleted.
fn ancestors_events(ex: &Examination, n: NodeId) -> Vec<crate::core::tree::Event> {
    let mut out = Vec::new();
    let mut cur = n;
    while cur != crate::core::tree::ROOT {
        cur = ex.tree.node(cur).parent;
        out.extend(ex.tree.node(cur).events.iter().cloned());
    }
    out
}

/// Removes, in the RUN that wrote them, the locale directories the finding claims: for
/// each locale root the layer wrote into, every entry but the ones the image keeps (the
/// configured locale, C, locale.alias), named so the RUN keeps exactly what the trim would.
fn locales_cleanup(ex: &Examination, f: &Finding, layer: u32) -> Option<String> {
    let claimed: FxHashSet<NodeId> = f.files.iter().copied().collect();
    let mut finds = Vec::new();
    for root in [
        "usr/share/locale",
        "usr/lib/locale",
        "usr/share/i18n/locales",
    ] {
        let Some(dir) = ex.tree.lookup(root) else {
            continue;
        };
        let mut wrote = false;
        let mut keep: Vec<String> = Vec::new();
        for &c in &ex.tree.node(dir).children {
            if !ex.tree.is_visible(c) {
                continue;
            }
            let mut files = Vec::new();
            under(ex, c, &mut files);
            let gone = !files.is_empty() && files.iter().all(|n| claimed.contains(n));
            if gone {
                wrote |= files
                    .iter()
                    .any(|&n| ex.tree.final_state(n).is_some_and(|e| e.layer == layer));
            } else {
                keep.push(ex.tree.node(c).name.to_string());
            }
        }
        if !wrote {
            continue;
        }
        keep.sort();
        // A name the shell or find would read as more than itself: no command at all,
        // rather than one that deletes what it should keep.
        if keep
            .iter()
            .any(|k| k.contains(['\'', '"', '$', '`', '\\', '*', '?', '[']))
        {
            return None;
        }
        let names: String = keep.iter().map(|k| format!(" ! -name '{k}'")).collect();
        finds.push(format!(
            "find /{root} -mindepth 1 -maxdepth 1{names} -exec rm -rf '{{}}' +"
        ));
    }
    (!finds.is_empty()).then(|| finds.join(" && "))
}

/// Every non-directory path under `n` (itself, if it is one) in the final image.
fn under(ex: &Examination, n: NodeId, out: &mut Vec<NodeId>) {
    let Some(e) = ex.tree.final_state(n) else {
        return;
    };
    if e.kind != crate::core::entry::EntryKind::Dir {
        out.push(n);
        return;
    }
    for &c in &ex.tree.node(n).children {
        if ex.tree.is_visible(c) {
            under(ex, c, out);
        }
    }
}

/// Whether the RUN at `at` installed only wheels built elsewhere (manylinux, musllinux or
/// pure-Python tags): pip compiled nothing there, so the compilers were not needed. A wheel
/// pip built from an sdist on the spot is tagged `linux_x86_64`.
fn only_prebuilt_wheels(ex: &Examination, made_by: &[Option<usize>], at: usize) -> bool {
    let Some(layer) = made_by.iter().position(|m| *m == Some(at)) else {
        return false;
    };
    let written: Vec<_> = ex
        .inventory
        .python_packages
        .iter()
        .filter(|p| {
            p.files_nodes.iter().any(|&n| {
                ex.tree
                    .final_state(n)
                    .is_some_and(|e| e.layer as usize == layer)
            })
        })
        .collect();
    !written.is_empty()
        && written.iter().all(|p| {
            !p.wheel_tags.is_empty()
                && p.wheel_tags.iter().all(|t| {
                    t.contains("manylinux") || t.contains("musllinux") || t.ends_with("-none-any")
                })
        })
}

/// Where and how to uninstall pip, setuptools and wheel: with the venv's own interpreter
/// (Debian's system pip refuses, PEP 668), in the last RUN of the stage that uses pip, so
/// no later RUN loses the pip it calls. None when the tools are the system Python's.
fn uninstall_tools(
    ex: &Examination,
    f: &Finding,
    at: usize,
    df: &Dockerfile,
) -> Option<(usize, String)> {
    let venv = ex.inventory.venvs.iter().find(|v| {
        f.files
            .iter()
            .any(|&n| ex.tree.path(n).starts_with(&format!("{}/", v.path)))
    })?;
    let target = later_runs(df, at)
        .filter(|(_, i)| uses_pip(&i.args))
        .map(|(n, _)| n)
        .last()
        .unwrap_or(at);
    Some((
        target,
        format!(
            "/{}/bin/python -m pip uninstall -y pip setuptools wheel",
            venv.path
        ),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn apt_install_names_are_read_from_a_run() {
        assert_eq!(
            apt_installed("apt-get update && apt-get install -y --no-install-recommends build-essential python3-dev=3.11.2-1 && rm -rf x"),
            ["build-essential", "python3-dev"]
        );
        assert!(apt_installed("pip install numpy").is_empty());
    }

    /// `sh -c "false && CLEANUP"`: the clean-up never runs (`false` fails first), and the
    /// status says whether the failure before it stays visible.
    fn fails_after_false(cleanup: &str) -> bool {
        let status = std::process::Command::new("sh")
            .arg("-c")
            .arg(format!("false && {cleanup}"))
            .status()
            .unwrap();
        !status.success()
    }

    #[test]
    fn no_builtin_clean_up_hides_a_failure_before_it() {
        let rules = RuleSet::builtin().unwrap();
        let stdlib = rules
            .rules
            .iter()
            .find(|r| r.id == "python-stdlib-tests")
            .and_then(|r| r.cleanup.clone())
            .unwrap();
        // As the rule writes it, a failed install before it would pass unseen.
        assert!(!fails_after_false(&stdlib));
        for r in &rules.rules {
            if let Some(c) = &r.cleanup {
                assert!(fails_after_false(&grouped(c)), "{}: {c}", r.id);
            }
        }
    }

    #[test]
    fn a_clean_up_that_may_fail_cannot_hide_what_ran_before_it() {
        assert_eq!(
            grouped("find / -name x -delete 2>/dev/null || true"),
            "{ find / -name x -delete 2>/dev/null || true; }"
        );
        assert_eq!(
            grouped("rm -rf /root/.cache/pip"),
            "rm -rf /root/.cache/pip"
        );
    }
}
