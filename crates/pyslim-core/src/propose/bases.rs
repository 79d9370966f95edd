//! The base images a proposal can build on, and their sizes: data in assets/bases.toml,
//! embedded, and overridable with a file of the same shape.

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::{Error, Result};

pub const BUILTIN_BASES: &str = include_str!("../../../../assets/bases.toml");

/// Which runtime a proposal targets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Target {
    Slim,
    Distroless,
    Alpine,
}

impl Target {
    pub fn name(self) -> &'static str {
        match self {
            Target::Slim => "slim",
            Target::Distroless => "distroless",
            Target::Alpine => "alpine",
        }
    }
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct TargetBases {
    /// Image for the builder stage; `{version}` is the Python version.
    pub builder: String,
    pub runtime: String,
    /// `debian`, `alpine` or `distroless`: how packages and users are added.
    pub family: String,
    /// The one Python version the runtime has, when it is fixed (distroless).
    #[serde(default)]
    pub python: Option<String>,
    /// The runtime's interpreter (`/usr/bin/python{version}`): the builder makes the venv
    /// with the interpreter at this path, so the venv's links hold in the runtime.
    #[serde(default)]
    pub interpreter: Option<String>,
    /// Rule id → what the proposal does about that finding on this target, where it differs
    /// from the rule's own text (distroless removes the shell).
    #[serde(default)]
    pub actions: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Bases {
    /// When the sizes were read.
    pub date: String,
    pub targets: BTreeMap<String, TargetBases>,
    /// Uncompressed bytes per image reference.
    #[serde(default)]
    pub sizes: BTreeMap<String, u64>,
    /// Debian package name → Alpine package name.
    #[serde(default)]
    pub apk_names: BTreeMap<String, String>,
    /// Globs of OS packages only a build needs.
    #[serde(default)]
    pub build_only: Vec<String>,
    /// Globs of OS packages every runtime base provides itself (its Python): never installed
    /// in the runtime stage.
    #[serde(default)]
    pub base_provides: Vec<String>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct BasesOverride {
    date: Option<String>,
    #[serde(default)]
    targets: BTreeMap<String, TargetBases>,
    #[serde(default)]
    sizes: BTreeMap<String, u64>,
    #[serde(default)]
    apk_names: BTreeMap<String, String>,
    #[serde(default)]
    build_only: Vec<String>,
    #[serde(default)]
    base_provides: Vec<String>,
}

impl Bases {
    /// The built-in table, with `user` (name and text of a file of the same shape) on top.
    pub fn load(user: Option<(&str, &str)>) -> Result<Bases> {
        let mut bases: Bases =
            toml::from_str(BUILTIN_BASES).map_err(|e| Error::parse("assets/bases.toml", e))?;
        if let Some((name, text)) = user {
            let o: BasesOverride = toml::from_str(text).map_err(|e| Error::parse(name, e))?;
            if let Some(date) = o.date {
                bases.date = date;
            }
            bases.targets.extend(o.targets);
            bases.sizes.extend(o.sizes);
            bases.apk_names.extend(o.apk_names);
            bases.build_only.extend(o.build_only);
            bases.base_provides.extend(o.base_provides);
        }
        Ok(bases)
    }

    pub fn target(&self, t: Target) -> Result<&TargetBases> {
        self.targets
            .get(t.name())
            .ok_or_else(|| Error::Usage(format!("no bases are known for target {}", t.name())))
    }

    /// The table's size for an image, also trying it without a digest.
    pub fn size_of(&self, image: &str) -> Option<u64> {
        self.sizes
            .get(image)
            .or_else(|| self.sizes.get(image.split('@').next().unwrap_or(image)))
            .copied()
    }
}

/// `python:{version}-slim` with the version filled in.
pub fn fill(pattern: &str, version: &str) -> String {
    pattern.replace("{version}", version)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_table_has_every_target_and_its_runtime_sizes() {
        let b = Bases::load(None).unwrap();
        for t in [Target::Slim, Target::Distroless, Target::Alpine] {
            let tb = b.target(t).unwrap();
            let runtime = fill(&tb.runtime, "3.11");
            assert!(b.size_of(&runtime).is_some(), "{runtime} has no size");
            // Every target says where its runtime has Python, for the builder's venv.
            let interpreter = tb.interpreter.as_deref().map(|p| fill(p, "3.11"));
            assert!(
                interpreter
                    .as_deref()
                    .is_some_and(|p| p.ends_with("/python3.11")),
                "{runtime}: {interpreter:?}"
            );
        }
        assert!(b.base_provides.iter().any(|g| g == "python3"));
        assert_eq!(b.apk_names.get("libpq-dev").unwrap(), "postgresql-dev");
    }

    #[test]
    fn a_user_file_overrides_and_adds() {
        let b = Bases::load(Some((
            "mine.toml",
            "date = \"2026-11\"\n[sizes]\n\"corp/python:3.11\" = 99\n[targets.slim]\nbuilder = \"corp/py:{version}-dev\"\nruntime = \"corp/python:{version}\"\nfamily = \"debian\"\n",
        )))
        .unwrap();
        assert_eq!(b.date, "2026-11");
        assert_eq!(b.size_of("corp/python:3.11@sha256:ab"), Some(99));
        assert_eq!(
            fill(&b.target(Target::Slim).unwrap().runtime, "3.11"),
            "corp/python:3.11"
        );
        assert!(b.target(Target::Alpine).is_ok(), "untouched targets stay");
        let bad = Bases::load(Some(("bad.toml", "[sizes]\nx = \"big\"\n")));
        assert!(bad.unwrap_err().to_string().contains("bad.toml"));
    }
}
