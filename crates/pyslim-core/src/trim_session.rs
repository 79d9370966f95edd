//! A guided trimming session: the findings that reclaim bytes, biggest first; a decision for
//! each (accept, skip, or none yet); the projected size as decisions change; and what the
//! accepted fixes mean for the Dockerfile. A session can also be driven from a decisions
//! file, for scripts, and it writes one for reuse (and for `pyslim trim --decisions`).

mod edits;
pub mod patch;

use serde::{Deserialize, Serialize};

use super::dockerfile::rewrite::Edit;
use super::dockerfile::Dockerfile;
use super::findings::{Finding, RuleSet};
use super::image::Image;
use super::Examination;
use crate::error::{Error, Result};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Decision {
    Accept,
    Skip,
}

pub struct Session {
    /// Indexes into the examination's findings, biggest saving first.
    pub order: Vec<usize>,
    /// Stable names for the findings in `order` (`apt-lists`, `wasted-bytes#2`).
    pub keys: Vec<String>,
    pub decisions: Vec<Option<Decision>>,
    /// The step being decided.
    pub cursor: usize,
    /// Steps decided, in order, for undo.
    history: Vec<usize>,
}

/// The one set of figures a session shows and writes: the trimmed image's, from the same
/// plan `pyslim trim --decisions` writes, and (with a Dockerfile) the patch's.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Projection {
    /// Bytes the layers ship now.
    pub before: u64,
    /// Bytes the trimmed image's layers would ship (the accepted removals, and the bytes
    /// later layers hide, which a trimmed image always drops).
    pub after: u64,
    /// Bytes the patched Dockerfile saves, when a Dockerfile was given.
    pub patch_saved: Option<u64>,
    /// What the trimmed image would break, and which accepted finding is to blame: such a
    /// session's image is refused.
    pub problems: Vec<String>,
}

impl Projection {
    pub fn saved(&self) -> u64 {
        self.before - self.after
    }
}

impl Session {
    pub fn new(ex: &Examination) -> Session {
        let list = &ex.findings.findings;
        let mut order: Vec<usize> = (0..list.len())
            .filter(|&i| list[i].bloat && list[i].bytes > 0)
            .collect();
        order.sort_by(|&a, &b| list[b].bytes.cmp(&list[a].bytes).then(a.cmp(&b)));
        // Keys by rule id, numbered when a rule made several findings (in report order).
        let mut keys = Vec::new();
        for &i in &order {
            let rule = &list[i].rule;
            let nth = list[..i].iter().filter(|f| &f.rule == rule).count();
            let total = list.iter().filter(|f| &f.rule == rule).count();
            keys.push(if total > 1 {
                format!("{rule}#{}", nth + 1)
            } else {
                rule.clone()
            });
        }
        let n = order.len();
        Session {
            order,
            keys,
            decisions: vec![None; n],
            cursor: 0,
            history: Vec::new(),
        }
    }

    pub fn done(&self) -> bool {
        self.cursor >= self.order.len()
    }

    pub fn decide(&mut self, d: Decision) {
        if self.done() {
            return;
        }
        self.decisions[self.cursor] = Some(d);
        self.history.push(self.cursor);
        self.cursor += 1;
    }

    /// Takes back the last decision and returns to it.
    pub fn undo(&mut self) {
        if let Some(step) = self.history.pop() {
            self.decisions[step] = None;
            self.cursor = step;
        }
    }

    pub fn accepted<'a>(&'a self, ex: &'a Examination) -> impl Iterator<Item = &'a Finding> + 'a {
        self.order
            .iter()
            .zip(&self.decisions)
            .filter(|(_, d)| **d == Some(Decision::Accept))
            .map(move |(&i, _)| &ex.findings.findings[i])
    }

    /// The figures for the accepted findings: the trim plan's (what the trimmed image
    /// ships, and what it would break) and the patch's.
    pub fn projection(
        &self,
        image: &Image,
        ex: &Examination,
        rules: &RuleSet,
        df: Option<&Dockerfile>,
    ) -> Projection {
        let plan = super::trim_image::plan(image, ex, self, rules);
        let problems = super::trim_image::safety::check(image, ex, &plan.removed)
            .into_iter()
            .map(|p| match plan.finding_for(&ex.tree, p.node) {
                Some(key) => format!("{} (finding {key})", p.message),
                None => p.message,
            })
            .collect();
        Projection {
            before: plan.bytes_before(),
            after: plan.bytes_after(),
            patch_saved: df.map(|df| patch::plan(self, image, ex, rules, df).saved()),
            problems,
        }
    }

    /// What accepting the current step would break that the accepted ones do not (`now`:
    /// what they break, from this session's projection).
    pub fn problems_if_accepted(
        &self,
        image: &Image,
        ex: &Examination,
        rules: &RuleSet,
        now: &[String],
    ) -> Vec<String> {
        if self.done() {
            return Vec::new();
        }
        let mut with = Session {
            order: self.order.clone(),
            keys: self.keys.clone(),
            decisions: self.decisions.clone(),
            cursor: self.cursor,
            history: Vec::new(),
        };
        with.decisions[self.cursor] = Some(Decision::Accept);
        with.projection(image, ex, rules, None)
            .problems
            .into_iter()
            .filter(|p| !now.contains(p))
            .collect()
    }

    /// Applies decisions read from a file; unknown finding names are an error.
    pub fn apply_file(&mut self, input: &str, file: &DecisionsFile) -> Result<()> {
        for d in &file.decision {
            let Some(pos) = self.keys.iter().position(|k| *k == d.finding) else {
                return Err(Error::corrupt(
                    input,
                    format!(
                        "no finding {:?} in this image (it has: {})",
                        d.finding,
                        self.keys.join(", ")
                    ),
                ));
            };
            self.decisions[pos] = Some(if d.accept {
                Decision::Accept
            } else {
                Decision::Skip
            });
        }
        self.cursor = self.order.len();
        Ok(())
    }

    pub fn to_file(&self, image: &Image, ex: &Examination) -> DecisionsFile {
        DecisionsFile {
            image: image.reference.clone(),
            decision: self
                .keys
                .iter()
                .zip(&self.decisions)
                .zip(&self.order)
                .filter_map(|((k, d), &i)| {
                    d.map(|d| DecisionEntry {
                        finding: k.clone(),
                        accept: d == Decision::Accept,
                        title: Some(ex.findings.findings[i].title.clone()),
                        bytes: Some(ex.findings.findings[i].bytes),
                    })
                })
                .collect(),
        }
    }

    /// The Dockerfile edits the accepted findings call for.
    pub fn edits(
        &self,
        image: &Image,
        ex: &Examination,
        rules: &RuleSet,
        df: &Dockerfile,
    ) -> Vec<Edit> {
        patch::plan(self, image, ex, rules, df).edits
    }
}

/// The decisions file: what was accepted and skipped, by finding name.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct DecisionsFile {
    #[serde(default)]
    pub image: String,
    #[serde(default)]
    pub decision: Vec<DecisionEntry>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct DecisionEntry {
    pub finding: String,
    pub accept: bool,
    /// For people reading the file; ignored when read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bytes: Option<u64>,
}

impl DecisionsFile {
    pub fn parse(input: &str, text: &str) -> Result<DecisionsFile> {
        toml::from_str(text).map_err(|e| Error::parse(input, e))
    }

    pub fn to_toml(&self) -> String {
        let body = toml::to_string_pretty(self).unwrap_or_default();
        format!("# pyslim trim decisions. Edit `accept`, then: pyslim trim IMAGE --decisions THIS_FILE\n{body}")
    }
}
