//! The user's configuration: `.pyslim.toml` in the working directory (or `--config PATH`)
//! changes rules and sets `check` thresholds; dive's `.dive-ci` is read too, so a project
//! moving from dive keeps its gate.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::core::findings::rules::{Rule, RulePatch, RuleSet};
use crate::error::{Error, Result};

mod check;
mod dive_ci;
mod values;

pub use check::{
    measure_of, threshold, validate_fail_on, CheckConfig, Limit, Measure, Threshold, THRESHOLDS,
};
pub use dive_ci::apply_dive_ci;
pub use values::{parse_ratio, parse_size};

pub const DEFAULT_FILE: &str = ".pyslim.toml";
pub const DIVE_CI_FILE: &str = ".dive-ci";

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawFile {
    #[serde(default)]
    rules: BTreeMap<String, RulePatch>,
    #[serde(default)]
    rule: Vec<Rule>,
    #[serde(default)]
    check: Option<toml::Table>,
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
            for (key, value) in &c {
                check.set(&input, key, value)?;
            }
            // After the rules: a category only a user rule adds is valid.
            if c.keys()
                .any(|k| check::threshold(k).is_some_and(|t| t.key == "fail-on"))
            {
                let what = format!("{input}: [check] fail-on");
                check.fail_on = validate_fail_on(&what, &check.fail_on, &rules)?;
            }
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

#[cfg(test)]
mod tests {
    use super::*;

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
