//! What the Dockerfile patch of a trimming session does, finding by finding: an edit that
//! realises the finding where one can (clean-up appended to the RUN that wrote the bytes,
//! `apt-get purge --auto-remove` of the build-only packages that RUN installed, pip's tools
//! uninstalled with the venv's own pip in the last RUN that uses it), and the bytes that
//! edit saves. A removal only saves bytes written by the same RUN: deleting in a later step
//! leaves them in the lower layer. Everything else is a note for a person and saves 0 B.

use rustc_hash::FxHashSet;

use super::super::dockerfile::rewrite::Edit;
use super::super::dockerfile::{layer_instructions, Dockerfile};
use super::super::findings::{own_bytes, Rule, RuleSet};
use super::super::image::Image;
use super::super::tree::NodeId;
use super::super::Examination;
use super::edits::{files_from_layer, later_rm, locales_cleanup, purge, uninstall_tools};
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

/// The patch for the session's accepted findings.
pub fn plan(
    session: &Session,
    image: &Image,
    ex: &Examination,
    rules: &RuleSet,
    df: &Dockerfile,
) -> PatchPlan {
    let made_by = layer_instructions(df, image);
    // What removing the accepted paths would break, by the finding to blame: the patch
    // makes no edit the trimmed image is refused for.
    let trim = super::super::trim_image::plan(image, ex, session, rules);
    let blamed: Vec<(String, String)> =
        super::super::trim_image::safety::check(image, ex, &trim.removed)
            .into_iter()
            .filter_map(|p| {
                trim.finding_for(&ex.tree, p.node)
                    .map(|k| (k.to_owned(), p.message))
            })
            .collect();
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
        let breaks: Vec<&str> = blamed
            .iter()
            .filter(|(k, _)| k == key)
            .map(|(_, m)| m.as_str())
            .collect();
        if !breaks.is_empty() {
            outcome.manual.push(format!(
                "not patched, it would break the app: {}",
                breaks.join("; ")
            ));
            out.outcomes.push(outcome);
            continue;
        }
        let Some(rule) = rules.rules.iter().find(|r| r.id == f.rule) else {
            outcome
                .manual
                .push("no rule in force says how to fix it".into());
            out.outcomes.push(outcome);
            continue;
        };
        let why = format!("{} ({}, {key})", f.title, crate::format::size(f.bytes));
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

#[cfg(test)]
mod tests {
    use super::super::edits::apt_installed;
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
