//! The user's configuration: `.pyslim.toml` in the working directory (or `--config PATH`)
//! changes rules and sets `check` thresholds; dive's `.dive-ci` is read too, so a project
//! moving from dive keeps its gate.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::core::findings::rules::{Rule, RulePatch, RuleSet};
use crate::error::{Error, Result};

pub const DEFAULT_FILE: &str = ".pyslim.toml";
pub const DIVE_CI_FILE: &str = ".dive-ci";

/// A threshold that may be switched off (`"disabled"`, as dive writes it).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Limit<T> {
    Disabled,
    At(T),
}

#[derive(Debug, Clone, PartialEq)]
pub struct CheckConfig {
    /// Lowest dive-formula efficiency (0-1).
    pub lowest_efficiency: Limit<f64>,
    /// Highest dive-formula wasted bytes.
    pub highest_wasted_bytes: Limit<u64>,
    /// Highest dive-formula user wasted percent (0-1).
    pub highest_user_wasted_percent: Limit<f64>,
    /// Highest reclaimable bloat bytes (pyslim findings).
    pub highest_bloat_bytes: Limit<u64>,
    /// Finding categories that fail the check when present.
    pub fail_on: Vec<String>,
    /// Where each value came from, for the table.
    pub origin: String,
}

impl Default for CheckConfig {
    /// dive's defaults, plus: compilers or secrets in the image fail.
    fn default() -> Self {
        CheckConfig {
            lowest_efficiency: Limit::At(0.9),
            highest_wasted_bytes: Limit::Disabled,
            highest_user_wasted_percent: Limit::At(0.1),
            highest_bloat_bytes: Limit::Disabled,
            fail_on: vec!["compilers".into(), "secrets".into()],
            origin: "defaults".into(),
        }
    }
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawCheck {
    #[serde(alias = "lowestEfficiency")]
    #[serde(rename = "lowest-efficiency")]
    lowest_efficiency: Option<toml::Value>,
    #[serde(alias = "highestWastedBytes")]
    #[serde(rename = "highest-wasted-bytes")]
    highest_wasted_bytes: Option<toml::Value>,
    #[serde(alias = "highestUserWastedPercent")]
    #[serde(rename = "highest-user-wasted-percent")]
    highest_user_wasted_percent: Option<toml::Value>,
    #[serde(alias = "highestBloatBytes")]
    #[serde(rename = "highest-bloat-bytes")]
    highest_bloat_bytes: Option<toml::Value>,
    #[serde(rename = "fail-on")]
    fail_on: Option<Vec<String>>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawFile {
    #[serde(default)]
    rules: BTreeMap<String, RulePatch>,
    #[serde(default)]
    rule: Vec<Rule>,
    #[serde(default)]
    check: Option<RawCheck>,
    /// The explorer's theme: a built-in name or a theme file's path.
    #[serde(default)]
    theme: Option<String>,
}

/// Everything the user configured.
#[derive(Debug, Clone)]
pub struct UserConfig {
    pub rules: RuleSet,
    pub check: CheckConfig,
    /// `theme = "…"` from the file, if set.
    pub theme: Option<String>,
    /// The files read, for messages.
    pub files: Vec<PathBuf>,
}

/// Loads the built-in rules and overlays `explicit` (when given, it must exist) or
/// `.pyslim.toml` in `dir`; also reads `.dive-ci` in `dir` for check thresholds.
pub fn load(explicit: Option<&Path>, dir: &Path) -> Result<UserConfig> {
    let mut rules = RuleSet::builtin()?;
    let mut check = CheckConfig::default();
    let mut files = Vec::new();
    let mut theme = None;
    let dive = dir.join(DIVE_CI_FILE);
    if dive.is_file() {
        let text = std::fs::read_to_string(&dive).map_err(|e| Error::io(&dive, e))?;
        apply_dive_ci(&dive.display().to_string(), &text, &mut check)?;
        check.origin = DIVE_CI_FILE.into();
        files.push(dive);
    }
    let path = match explicit {
        Some(p) => Some(p.to_owned()),
        None => Some(dir.join(DEFAULT_FILE)).filter(|p| p.is_file()),
    };
    if let Some(path) = path {
        let input = path.display().to_string();
        let text = std::fs::read_to_string(&path).map_err(|e| Error::io(&path, e))?;
        let raw: RawFile = toml::from_str(&text).map_err(|e| Error::parse(&input, e))?;
        rules.overlay(&input, &raw.rules, raw.rule)?;
        theme = raw.theme;
        if let Some(c) = raw.check {
            apply_raw_check(&input, c, &mut check)?;
            check.origin = path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or(input);
        }
        files.push(path);
    }
    Ok(UserConfig {
        theme,
        rules,
        check,
        files,
    })
}

fn apply_raw_check(input: &str, c: RawCheck, check: &mut CheckConfig) -> Result<()> {
    let text = |v: toml::Value| match v {
        toml::Value::String(s) => s,
        other => other.to_string(),
    };
    if let Some(v) = c.lowest_efficiency {
        check.lowest_efficiency = parse_ratio(input, "lowest-efficiency", &text(v))?;
    }
    if let Some(v) = c.highest_wasted_bytes {
        check.highest_wasted_bytes = parse_size(input, "highest-wasted-bytes", &text(v))?;
    }
    if let Some(v) = c.highest_user_wasted_percent {
        check.highest_user_wasted_percent =
            parse_ratio(input, "highest-user-wasted-percent", &text(v))?;
    }
    if let Some(v) = c.highest_bloat_bytes {
        check.highest_bloat_bytes = parse_size(input, "highest-bloat-bytes", &text(v))?;
    }
    if let Some(v) = c.fail_on {
        check.fail_on = v;
    }
    Ok(())
}

/// Reads dive's `.dive-ci` (YAML with a `rules:` map of three keys). Only those lines are
/// read, so no YAML parser is needed for a three-key file.
pub fn apply_dive_ci(input: &str, text: &str, check: &mut CheckConfig) -> Result<()> {
    for line in text.lines() {
        let line = line.split('#').next().unwrap_or("").trim();
        let Some((key, value)) = line.split_once(':') else {
            continue;
        };
        let value = value.trim().trim_matches('"').trim_matches('\'');
        match key.trim() {
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
            _ => {}
        }
    }
    Ok(())
}

pub fn parse_ratio(input: &str, key: &str, value: &str) -> Result<Limit<f64>> {
    if value.eq_ignore_ascii_case("disabled") {
        return Ok(Limit::Disabled);
    }
    let v = value.trim();
    let parsed = match v.strip_suffix('%') {
        Some(p) => p.trim().parse::<f64>().map(|x| x / 100.0),
        None => v.parse::<f64>(),
    };
    match parsed {
        Ok(x) if (0.0..=1.0).contains(&x) => Ok(Limit::At(x)),
        _ => Err(Error::corrupt(input, format!("{key} = {value:?}: expected a ratio from 0 to 1 (or a percentage like 10%), or \"disabled\""))),
    }
}

/// `20MB` (SI, as dive reads it), `20MiB`, `1.5GB`, `300k`, or a plain number of bytes.
pub fn parse_size(input: &str, key: &str, value: &str) -> Result<Limit<u64>> {
    if value.eq_ignore_ascii_case("disabled") {
        return Ok(Limit::Disabled);
    }
    let v = value.trim();
    let split = v
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(v.len());
    let (num, unit) = v.split_at(split);
    let mult: Option<f64> = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => Some(1.0),
        "k" | "kb" => Some(1e3),
        "m" | "mb" => Some(1e6),
        "g" | "gb" => Some(1e9),
        "kib" => Some(1024.0),
        "mib" => Some(1024.0 * 1024.0),
        "gib" => Some(1024.0 * 1024.0 * 1024.0),
        _ => None,
    };
    match (num.parse::<f64>(), mult) {
        (Ok(n), Some(m)) if n >= 0.0 => Ok(Limit::At((n * m).round() as u64)),
        _ => Err(Error::corrupt(
            input,
            format!(
                "{key} = {value:?}: expected a size like 20MB, 20MiB or 1048576, or \"disabled\""
            ),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_and_ratios_read_like_dive() {
        assert_eq!(parse_size("t", "k", "20MB").unwrap(), Limit::At(20_000_000));
        assert_eq!(
            parse_size("t", "k", "1.5 GiB").unwrap(),
            Limit::At(1_610_612_736)
        );
        assert_eq!(parse_size("t", "k", "disabled").unwrap(), Limit::Disabled);
        assert!(parse_size("t", "k", "lots").is_err());
        assert_eq!(parse_ratio("t", "k", "0.95").unwrap(), Limit::At(0.95));
        assert_eq!(parse_ratio("t", "k", "10%").unwrap(), Limit::At(0.1));
        assert!(parse_ratio("t", "k", "1.5").is_err());
    }

    #[test]
    fn dive_ci_files_set_the_three_dive_keys() {
        let mut c = CheckConfig::default();
        apply_dive_ci("t", "rules:\n  lowestEfficiency: 0.95\n  highestWastedBytes: 20MB\n  highestUserWastedPercent: disabled\n", &mut c).unwrap();
        assert_eq!(c.lowest_efficiency, Limit::At(0.95));
        assert_eq!(c.highest_wasted_bytes, Limit::At(20_000_000));
        assert_eq!(c.highest_user_wasted_percent, Limit::Disabled);
        assert_eq!(c.fail_on, vec!["compilers", "secrets"]);
    }

    #[test]
    fn pyslim_toml_patches_rules_and_sets_thresholds() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join(DEFAULT_FILE),
            "theme = \"light\"\n\n[rules.docs]\nenabled = false\n\n[check]\nlowest-efficiency = 0.8\nhighest-bloat-bytes = \"100MB\"\nfail-on = [\"secrets\"]\n",
        )
        .unwrap();
        let cfg = load(None, dir.path()).unwrap();
        assert!(
            !cfg.rules
                .rules
                .iter()
                .find(|r| r.id == "docs")
                .unwrap()
                .enabled
        );
        assert_eq!(cfg.check.lowest_efficiency, Limit::At(0.8));
        assert_eq!(cfg.check.highest_bloat_bytes, Limit::At(100_000_000));
        assert_eq!(cfg.check.fail_on, vec!["secrets"]);
        assert_eq!(cfg.theme.as_deref(), Some("light"));
        // An unknown key is an error that names the file.
        std::fs::write(
            dir.path().join(DEFAULT_FILE),
            "[check]\nlowest-efficency = 0.8\n",
        )
        .unwrap();
        let err = load(None, dir.path()).unwrap_err().to_string();
        assert!(
            err.contains(".pyslim.toml") && err.contains("lowest-efficency"),
            "{err}"
        );
    }
}
