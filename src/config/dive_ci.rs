//! dive's `.dive-ci`: its three CI rules, so a project moving from dive keeps its gate.

use super::check::CheckConfig;
use super::values::{did_you_mean, parse_ratio, parse_size};
use crate::error::{Error, Result};

/// dive's three CI rules, as `.dive-ci` spells them.
const DIVE_RULES: &[&str] = &[
    "lowestEfficiency",
    "highestWastedBytes",
    "highestUserWastedPercent",
];

/// Reads dive's `.dive-ci` (YAML with a `rules:` map of three keys). Only those lines are
/// read, so no YAML parser is needed for a three-key file; any other key under `rules:` is
/// an error, as dive would gate nothing with it.
pub fn apply_dive_ci(input: &str, text: &str, check: &mut CheckConfig) -> Result<()> {
    let mut in_rules = false;
    for raw in text.lines() {
        let line = raw.split('#').next().unwrap_or("");
        let Some((key, value)) = line.split_once(':') else {
            continue;
        };
        let indented = line.starts_with(' ') || line.starts_with('\t');
        let key = key.trim();
        if !indented {
            in_rules = key == "rules";
            continue;
        }
        if !in_rules {
            continue;
        }
        let value = value.trim().trim_matches('"').trim_matches('\'');
        match key {
            "lowestEfficiency" => {
                check.lowest_efficiency = parse_ratio(input, "lowestEfficiency", value)?
            }
            "highestWastedBytes" => {
                check.highest_wasted_bytes = parse_size(input, "highestWastedBytes", value)?
            }
            "highestUserWastedPercent" => {
                check.highest_user_wasted_percent =
                    parse_ratio(input, "highestUserWastedPercent", value)?
            }
            other => {
                return Err(Error::corrupt(
                    input,
                    format!(
                        "rules: {other}: not a dive CI rule{} (rules: {})",
                        did_you_mean(other, DIVE_RULES.iter().copied()),
                        DIVE_RULES.join(", ")
                    ),
                ))
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Limit;

    #[test]
    fn dive_ci_files_set_the_three_dive_keys() {
        let mut c = CheckConfig::default();
        apply_dive_ci("t", "rules:\n  lowestEfficiency: 0.95\n  highestWastedBytes: 20MB\n  highestUserWastedPercent: disabled\n", &mut c).unwrap();
        assert_eq!(c.lowest_efficiency, Limit::At(0.95));
        assert_eq!(c.highest_wasted_bytes, Limit::At(20_000_000));
        assert_eq!(c.highest_user_wasted_percent, Limit::Disabled);
        assert_eq!(c.fail_on, vec!["compilers", "secrets"]);
        let err = apply_dive_ci("t", "rules:\n  lowestEfficency: 0.95\n", &mut c)
            .unwrap_err()
            .to_string();
        assert!(err.contains("did you mean \"lowestEfficiency\"?"), "{err}");
        // Keys outside `rules:` are not dive's CI rules and are left alone.
        apply_dive_ci("t", "log:\n  level: debug\n", &mut c).unwrap();
    }
}
