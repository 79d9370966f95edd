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
    #[serde(default)]
    cache: Option<CacheSection>,
}

/// `[cache]`: the layer cache's bound.
#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct CacheSection {
    /// `"2GB"`, `"500MiB"` …: least recently used layers go beyond it.
    #[serde(default)]
    max_size: Option<toml::Value>,
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
    /// `[cache] max-size`, in bytes.
    pub cache_max_bytes: Option<u64>,
}

/// Loads the built-in rules and overlays `explicit` (when given, it must exist) or
/// `.pyslim.toml` in `dir`; also reads `.dive-ci` in `dir` for check thresholds.
pub fn load(explicit: Option<&Path>, dir: &Path) -> Result<UserConfig> {
    let mut rules = RuleSet::builtin()?;
    let mut check = CheckConfig::default();
    let mut files = Vec::new();
    let mut theme = None;
    let mut cache_max_bytes = None;
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
        if let Some(value) = raw.cache.and_then(|c| c.max_size) {
            cache_max_bytes = Some(cache_size(&input, &value)?);
        }
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
        cache_max_bytes,
        theme,
        rules,
        check,
        files,
    })
}

/// `[cache] max-size` from `.pyslim.toml` in `dir`, read alone (the rest of the file is
/// checked by `load`): the bound every command that reads an image applies.
pub fn cache_max_bytes(dir: &Path) -> Result<Option<u64>> {
    let path = dir.join(DEFAULT_FILE);
    let Ok(text) = std::fs::read_to_string(&path) else {
        return Ok(None);
    };
    let input = path.display().to_string();
    let table: toml::Table = toml::from_str(&text).map_err(|e| Error::parse(&input, e))?;
    match table
        .get("cache")
        .and_then(|c| c.as_table())
        .and_then(|c| c.get("max-size"))
    {
        Some(value) => cache_size(&input, value).map(Some),
        None => Ok(None),
    }
}

/// `max-size = "2GB"` or a number of bytes.
fn cache_size(input: &str, value: &toml::Value) -> Result<u64> {
    let key = "[cache] max-size";
    match value {
        toml::Value::Integer(n) if *n >= 0 => Ok(*n as u64),
        toml::Value::String(s) => match parse_size(input, key, s)? {
            Limit::At(n) => Ok(n),
            Limit::Disabled => Err(Error::corrupt(
                input,
                format!("{key} cannot be disabled; use --no-cache to read without the cache"),
            )),
        },
        other => Err(Error::corrupt(
            input,
            format!("{key} = {other}: expected a size like 2GB, 500MiB or 1048576"),
        )),
    }
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
