//! `check` thresholds: which exist, which figures each reads (dive's formulas or pyslim's),
//! how their values are written, and the checks that turn a typo into an error instead of a
//! gate that passes because it tests nothing.

use super::values::{did_you_mean, parse_ratio, parse_size};
use crate::core::findings::rules::RuleSet;
use crate::error::{Error, Result};

/// A threshold that may be switched off (`"disabled"`, as dive writes it).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Limit<T> {
    Disabled,
    At(T),
}

#[derive(Debug, Clone, PartialEq)]
pub struct CheckConfig {
    /// Lowest efficiency by dive's formula (0-1).
    pub lowest_efficiency: Limit<f64>,
    /// Highest wasted bytes by dive's formula.
    pub highest_wasted_bytes: Limit<u64>,
    /// Highest user wasted percent by dive's formula (0-1).
    pub highest_user_wasted_percent: Limit<f64>,
    /// Lowest efficiency as `analyze` shows it: bytes the image shows / bytes its layers carry.
    pub lowest_pyslim_efficiency: Limit<f64>,
    /// Highest bytes the layers carry that the final image cannot see (`analyze`'s "Wasted").
    pub highest_pyslim_wasted_bytes: Limit<u64>,
    /// Those bytes as a share of what the layers carry (0-1).
    pub highest_pyslim_wasted_percent: Limit<f64>,
    /// Highest reclaimable bloat bytes (pyslim findings).
    pub highest_bloat_bytes: Limit<u64>,
    /// Finding categories or rule ids that fail the check when present.
    pub fail_on: Vec<String>,
    /// Where each value came from, for the table.
    pub origin: String,
}

impl Default for CheckConfig {
    /// dive's defaults, plus: compilers or secrets in the image fail. pyslim's own figures
    /// are shown beside dive's but gate nothing until a limit is set.
    fn default() -> Self {
        CheckConfig {
            lowest_efficiency: Limit::At(0.9),
            highest_wasted_bytes: Limit::Disabled,
            highest_user_wasted_percent: Limit::At(0.1),
            lowest_pyslim_efficiency: Limit::Disabled,
            highest_pyslim_wasted_bytes: Limit::Disabled,
            highest_pyslim_wasted_percent: Limit::Disabled,
            highest_bloat_bytes: Limit::Disabled,
            fail_on: vec!["compilers".into(), "secrets".into()],
            origin: "defaults".into(),
        }
    }
}

/// The figures a threshold reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Measure {
    /// dive's formulas (dive/filetree/efficiency.go), so a `.dive-ci` gate keeps its meaning.
    Dive,
    /// pyslim's: what the final image shows against what its layers carry, as `analyze`
    /// prints them.
    Pyslim,
    /// pyslim's findings.
    Findings,
}

impl Measure {
    pub fn as_str(self) -> &'static str {
        match self {
            Measure::Dive => "dive",
            Measure::Pyslim => "pyslim",
            Measure::Findings => "findings",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Value {
    Ratio,
    Size,
    Names,
}

/// One threshold key of `[check]` (and its flag, `--KEY`).
pub struct Threshold {
    pub key: &'static str,
    /// Other spellings: dive's camelCase, and names that say which figures are read.
    pub aliases: &'static [&'static str],
    pub measure: Measure,
    value: Value,
}

pub const THRESHOLDS: &[Threshold] = &[
    Threshold {
        key: "lowest-efficiency",
        aliases: &["lowestEfficiency", "lowest-dive-efficiency"],
        measure: Measure::Dive,
        value: Value::Ratio,
    },
    Threshold {
        key: "highest-user-wasted-percent",
        aliases: &[
            "highestUserWastedPercent",
            "highest-dive-user-wasted-percent",
        ],
        measure: Measure::Dive,
        value: Value::Ratio,
    },
    Threshold {
        key: "highest-wasted-bytes",
        aliases: &["highestWastedBytes", "highest-dive-wasted-bytes"],
        measure: Measure::Dive,
        value: Value::Size,
    },
    Threshold {
        key: "lowest-pyslim-efficiency",
        aliases: &[],
        measure: Measure::Pyslim,
        value: Value::Ratio,
    },
    Threshold {
        key: "highest-pyslim-wasted-percent",
        aliases: &[],
        measure: Measure::Pyslim,
        value: Value::Ratio,
    },
    Threshold {
        key: "highest-pyslim-wasted-bytes",
        aliases: &[],
        measure: Measure::Pyslim,
        value: Value::Size,
    },
    Threshold {
        key: "highest-bloat-bytes",
        aliases: &["highestBloatBytes"],
        measure: Measure::Findings,
        value: Value::Size,
    },
    Threshold {
        key: "fail-on",
        aliases: &["failOn"],
        measure: Measure::Findings,
        value: Value::Names,
    },
];

/// The threshold a key (or one of its aliases) names.
pub fn threshold(key: &str) -> Option<&'static Threshold> {
    THRESHOLDS
        .iter()
        .find(|t| t.key == key || t.aliases.contains(&key))
}

/// The measure behind a threshold key, for reports.
pub fn measure_of(key: &str) -> Measure {
    threshold(key).map_or(Measure::Findings, |t| t.measure)
}

impl CheckConfig {
    /// Sets one threshold from its written value. `input` names where it was written (the
    /// file, or `--flag`) for the error message.
    pub fn set(&mut self, input: &str, key: &str, value: &toml::Value) -> Result<()> {
        let Some(t) = threshold(key) else {
            let keys: Vec<&str> = THRESHOLDS.iter().map(|t| t.key).collect();
            return Err(Error::corrupt(
                input,
                format!(
                    "[check] {key}: no such threshold{} (thresholds: {})",
                    did_you_mean(key, keys.iter().copied()),
                    keys.join(", ")
                ),
            ));
        };
        let text = match value {
            toml::Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        match t.value {
            Value::Ratio => {
                let v = parse_ratio(input, key, &text)?;
                *match t.key {
                    "lowest-efficiency" => &mut self.lowest_efficiency,
                    "highest-user-wasted-percent" => &mut self.highest_user_wasted_percent,
                    "lowest-pyslim-efficiency" => &mut self.lowest_pyslim_efficiency,
                    "highest-pyslim-wasted-percent" => &mut self.highest_pyslim_wasted_percent,
                    other => return Err(unwired(input, other)),
                } = v;
            }
            Value::Size => {
                let v = parse_size(input, key, &text)?;
                *match t.key {
                    "highest-wasted-bytes" => &mut self.highest_wasted_bytes,
                    "highest-pyslim-wasted-bytes" => &mut self.highest_pyslim_wasted_bytes,
                    "highest-bloat-bytes" => &mut self.highest_bloat_bytes,
                    other => return Err(unwired(input, other)),
                } = v;
            }
            Value::Names => {
                let names = match value {
                    toml::Value::Array(a) => a
                        .iter()
                        .map(|v| match v {
                            toml::Value::String(s) => Ok(s.clone()),
                            other => Err(other.to_string()),
                        })
                        .collect::<std::result::Result<Vec<_>, _>>(),
                    toml::Value::String(s) => {
                        Ok(s.split(',').map(|p| p.trim().to_owned()).collect())
                    }
                    other => Err(other.to_string()),
                };
                self.fail_on = names.map_err(|v| {
                    Error::corrupt(
                        input,
                        format!("{key} = {v}: expected a list of categories or rule ids, like [\"compilers\", \"secrets\"]"),
                    )
                })?;
            }
        }
        Ok(())
    }
}

/// A key in THRESHOLDS that `set` does not store: a defect here, said as an error rather
/// than a threshold silently ignored (the unit test below sets every key).
fn unwired(input: &str, key: &str) -> Error {
    Error::corrupt(
        input,
        format!("[check] {key}: known but not stored (a pyslim bug)"),
    )
}

/// Keeps the categories and rule ids that exist (`none` and empty names mean none) and
/// refuses any other: a misspelt name would make a gate that can never fail.
pub fn validate_fail_on(input: &str, names: &[String], rules: &RuleSet) -> Result<Vec<String>> {
    let mut categories: Vec<&str> = rules.rules.iter().map(|r| r.category.as_str()).collect();
    categories.sort_unstable();
    categories.dedup();
    let ids: Vec<&str> = rules.rules.iter().map(|r| r.id.as_str()).collect();
    let mut out = Vec::new();
    for name in names {
        let name = name.trim();
        if name.is_empty() || name == "none" {
            continue;
        }
        if !categories.contains(&name) && !ids.contains(&name) {
            let ids_only: Vec<&str> = ids
                .iter()
                .copied()
                .filter(|i| !categories.contains(i))
                .collect();
            return Err(Error::corrupt(
                input,
                format!(
                    "{name:?} is not a category or rule id{} (categories: {}; rule ids: {})",
                    did_you_mean(name, categories.iter().chain(&ids).copied()),
                    categories.join(", "),
                    ids_only.join(", ")
                ),
            ));
        }
        if !out.iter().any(|o: &String| o == name) {
            out.push(name.to_owned());
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fail_on_names_must_exist() {
        let rules = RuleSet::builtin().unwrap();
        let names = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(
            validate_fail_on("t", &names(&["compilers", "c-headers", "none", ""]), &rules).unwrap(),
            ["compilers", "c-headers"]
        );
        let err = validate_fail_on("t", &names(&["compiler"]), &rules)
            .unwrap_err()
            .to_string();
        assert!(err.contains("did you mean \"compilers\"?"), "{err}");
        assert!(err.contains("categories: caches, compilers,"), "{err}");
    }

    #[test]
    fn every_threshold_key_names_its_measure() {
        for t in THRESHOLDS {
            assert!(threshold(t.key).is_some());
            for a in t.aliases {
                assert_eq!(threshold(a).map(|x| x.key), Some(t.key));
            }
        }
        assert_eq!(measure_of("lowest-efficiency"), Measure::Dive);
        assert_eq!(measure_of("lowest-pyslim-efficiency"), Measure::Pyslim);
        assert_eq!(measure_of("lowest-dive-efficiency"), Measure::Dive);
        // Every key is stored somewhere: setting each changes the configuration.
        for t in THRESHOLDS {
            let mut c = CheckConfig::default();
            let value = match t.value {
                Value::Ratio => toml::Value::String("0.42".into()),
                Value::Size => toml::Value::String("42MB".into()),
                Value::Names => toml::Value::Array(vec![toml::Value::String("docs".into())]),
            };
            c.set("t", t.key, &value).unwrap();
            assert_ne!(c, CheckConfig::default(), "{}", t.key);
        }
    }
}
