//! Rules as data: the built-in set (assets/rules.toml, embedded) and a user file that adds
//! rules, changes fields of existing ones, or switches them off.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

pub const BUILTIN_RULES: &str = include_str!("../../../../assets/rules.toml");

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Info,
    Low,
    Medium,
    High,
    Critical,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }
}

fn yes() -> bool {
    true
}

#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    pub id: String,
    pub category: String,
    pub severity: Severity,
    pub title: String,
    pub why: String,
    pub fix: String,
    #[serde(default)]
    pub paths: Vec<String>,
    #[serde(default)]
    pub except: Vec<String>,
    #[serde(default)]
    pub packages: Vec<String>,
    #[serde(default)]
    pub python_packages: Vec<String>,
    /// The packages' dependencies go with them when nothing that stays needs them (dpkg
    /// Depends, and DT_NEEDED of the ELF files that stay): removing gcc without libmpc,
    /// or binutils without libctf0, leaves libraries that load nothing or break.
    #[serde(default)]
    pub with_dependencies: bool,
    #[serde(default)]
    pub detector: Option<String>,
    /// Parameter of the `env-missing` detector.
    #[serde(default)]
    pub env: Option<String>,
    /// False for rules about posture: their bytes are not counted as reclaimable.
    #[serde(default = "yes")]
    pub bloat: bool,
    /// Shell appended to each RUN that brought the bytes, when a trim accepts the finding.
    #[serde(default)]
    pub cleanup: Option<String>,
    /// `NAME=value` for an ENV line the fix adds.
    #[serde(default)]
    pub set_env: Option<String>,
    /// Lines the fix adds to .dockerignore.
    #[serde(default)]
    pub dockerignore: Vec<String>,
    /// What a proposed multi-stage Dockerfile does about the finding, for its summary.
    #[serde(default)]
    pub proposal: Option<String>,
    #[serde(default = "yes")]
    pub enabled: bool,
}

/// Fields a user file may change on an existing rule.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RulePatch {
    pub category: Option<String>,
    pub severity: Option<Severity>,
    pub title: Option<String>,
    pub why: Option<String>,
    pub fix: Option<String>,
    pub paths: Option<Vec<String>>,
    pub except: Option<Vec<String>>,
    pub packages: Option<Vec<String>>,
    pub python_packages: Option<Vec<String>>,
    pub env: Option<String>,
    pub bloat: Option<bool>,
    pub enabled: Option<bool>,
    pub cleanup: Option<String>,
    pub set_env: Option<String>,
    pub dockerignore: Option<Vec<String>>,
    pub proposal: Option<String>,
}

#[derive(Debug, Deserialize)]
struct RuleFile {
    #[serde(default)]
    rule: Vec<Rule>,
}

/// The rules in force.
#[derive(Debug, Clone)]
pub struct RuleSet {
    pub rules: Vec<Rule>,
}

pub const DETECTORS: &[&str] = &[
    "multiple-interpreters",
    "venvs",
    "locales",
    "elf-unstripped",
    "wasted",
    "secrets",
    "secrets-test-fixtures",
    "user-root",
    "setuid",
    "world-writable",
    "env-missing",
    "env-utf8-locale",
    "env-hashseed",
    "stray-pyc",
];

impl RuleSet {
    pub fn builtin() -> Result<Self> {
        Self::parse("assets/rules.toml (built in)", BUILTIN_RULES)
    }

    pub fn parse(input: &str, text: &str) -> Result<Self> {
        let file: RuleFile = toml::from_str(text).map_err(|e| Error::parse(input, e))?;
        let set = RuleSet { rules: file.rule };
        set.validate(input)?;
        Ok(set)
    }

    /// Applies a user's `[rules.ID]` patches and appends their new `[[rule]]`s.
    pub fn overlay(
        &mut self,
        input: &str,
        patches: &BTreeMap<String, RulePatch>,
        added: Vec<Rule>,
    ) -> Result<()> {
        for (id, p) in patches {
            let ids: Vec<&str> = self.rules.iter().map(|r| r.id.as_str()).collect();
            if !ids.contains(&id.as_str()) {
                // A misspelt id would leave the rule it meant unchanged, silently.
                return Err(Error::corrupt(
                    input,
                    format!(
                        "[rules.{id}] changes a rule that does not exist (rules: {})",
                        ids.join(", ")
                    ),
                ));
            }
            let Some(rule) = self.rules.iter_mut().find(|r| &r.id == id) else {
                continue;
            };
            macro_rules! set {
                ($($f:ident),*) => { $( if let Some(v) = p.$f.clone() { rule.$f = v; } )* };
            }
            set!(
                category,
                severity,
                title,
                why,
                fix,
                paths,
                except,
                packages,
                python_packages,
                bloat,
                enabled,
                dockerignore
            );
            if p.env.is_some() {
                rule.env = p.env.clone();
            }
            if p.cleanup.is_some() {
                rule.cleanup = p.cleanup.clone();
            }
            if p.proposal.is_some() {
                rule.proposal = p.proposal.clone();
            }
            if p.set_env.is_some() {
                rule.set_env = p.set_env.clone();
            }
        }
        for rule in added {
            if let Some(existing) = self.rules.iter_mut().find(|r| r.id == rule.id) {
                *existing = rule;
            } else {
                self.rules.push(rule);
            }
        }
        self.validate(input)
    }

    fn validate(&self, input: &str) -> Result<()> {
        for r in &self.rules {
            let matchers = [
                !r.paths.is_empty(),
                !r.packages.is_empty(),
                !r.python_packages.is_empty(),
                r.detector.is_some(),
            ];
            if !matchers.iter().any(|m| *m) {
                return Err(Error::corrupt(input, format!("rule {} matches nothing: give paths, packages, python_packages or detector", r.id)));
            }
            if let Some(d) = &r.detector {
                if !DETECTORS.contains(&d.as_str()) {
                    return Err(Error::corrupt(
                        input,
                        format!(
                            "rule {}: unknown detector {d:?} (known: {})",
                            r.id,
                            DETECTORS.join(", ")
                        ),
                    ));
                }
            }
            for g in r.paths.iter().chain(&r.except).chain(&r.packages) {
                globset::Glob::new(g).map_err(|e| {
                    Error::corrupt(input, format!("rule {}: bad glob {g:?}: {e}", r.id))
                })?;
            }
        }
        Ok(())
    }

    pub fn enabled(&self) -> impl Iterator<Item = &Rule> {
        self.rules.iter().filter(|r| r.enabled)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_rules_parse_and_every_detector_is_known() {
        let set = RuleSet::builtin().unwrap();
        assert!(set.rules.len() >= 25);
        let mut ids: Vec<_> = set.rules.iter().map(|r| r.id.as_str()).collect();
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), set.rules.len(), "rule ids are unique");
    }

    #[test]
    fn user_patches_change_fields_and_switch_rules_off() {
        let mut set = RuleSet::builtin().unwrap();
        let mut patches = BTreeMap::new();
        patches.insert(
            "python-bytecode".to_owned(),
            RulePatch {
                enabled: Some(false),
                ..Default::default()
            },
        );
        patches.insert(
            "docs".to_owned(),
            RulePatch {
                severity: Some(Severity::High),
                ..Default::default()
            },
        );
        set.overlay("user", &patches, vec![]).unwrap();
        assert!(
            !set.rules
                .iter()
                .find(|r| r.id == "python-bytecode")
                .unwrap()
                .enabled
        );
        assert_eq!(
            set.rules.iter().find(|r| r.id == "docs").unwrap().severity,
            Severity::High
        );
        let mut bad = BTreeMap::new();
        bad.insert("no-such-rule".to_owned(), RulePatch::default());
        let err = set
            .overlay("user.toml", &bad, vec![])
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with(
                "user.toml: [rules.no-such-rule] changes a rule that does not exist (rules: "
            ) && err.contains(" docs,"),
            "{err}"
        );
    }

    #[test]
    fn a_rule_with_an_unknown_detector_is_refused() {
        let text = "[[rule]]\nid='x'\ncategory='c'\nseverity='low'\ntitle='t'\nwhy='w'\nfix='f'\ndetector='nope'\n";
        let err = RuleSet::parse("r.toml", text).unwrap_err().to_string();
        assert!(err.contains("unknown detector \"nope\""), "{err}");
    }
}
