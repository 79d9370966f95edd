//! Which interpreter the venv is made with. A venv's `bin/python` is a link to the interpreter
//! that made it (and its pyvenv.cfg names that interpreter's directory), so a venv built with
//! `/usr/local/bin/python3.11` does not start in a runtime whose Python is
//! `/usr/bin/python3.11`. The builder therefore makes the venv with the interpreter at the
//! path the runtime has it: read from the runtime base when the daemon has it, else the
//! table's path for the target.

use serde::Serialize;

use super::bases::{fill, TargetBases};

/// The interpreter the venv is made with, and why that one.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct VenvInterpreter {
    /// Absolute path, the same in the builder and in the runtime.
    pub path: String,
    /// Where the path comes from, for the proposal's text and JSON.
    pub source: String,
}

/// What is known of the runtime base's Pythons: `Some(paths)` when its files were read
/// (absolute paths of every `pythonX.Y` it has), `None` when they could not be.
pub(crate) fn choose(
    tb: &TargetBases,
    version: &str,
    runtime_base: &str,
    base_given: bool,
    found: Option<&[String]>,
    warnings: &mut Vec<String>,
) -> VenvInterpreter {
    let table = tb.interpreter.as_deref().map(|p| fill(p, version));
    if let Some(found) = found {
        let wanted = format!("python{version}");
        let name_of = |p: &str| p.rsplit('/').next().unwrap_or(p).to_owned();
        // The versioned name, in the directory the table names first (two Pythons of one
        // version: the table says which the base's own is).
        let mut exact: Vec<&String> = found.iter().filter(|p| name_of(p) == wanted).collect();
        exact.sort_by_key(|p| (Some(p.as_str()) != table.as_deref(), p.as_str().len()));
        if let Some(p) = exact.first() {
            return VenvInterpreter {
                path: (*p).clone(),
                source: format!("read from {runtime_base} in the Docker daemon"),
            };
        }
        if let Some(other) = found.first() {
            warnings.push(format!(
                "{runtime_base} has no Python {version} (it has {}): the venv is made with {other}; check that every package supports its version",
                found.join(", ")
            ));
            return VenvInterpreter {
                path: other.clone(),
                source: format!("read from {runtime_base} in the Docker daemon"),
            };
        }
        warnings.push(format!(
            "{runtime_base} has no Python interpreter (read from the Docker daemon): the venv will not run there; choose a runtime base with Python {version}"
        ));
    }
    match table {
        Some(path) if !base_given => VenvInterpreter {
            source: format!("where {runtime_base} has it, by the table of known bases"),
            path,
        },
        Some(path) => {
            if found.is_none() {
                warnings.push(format!(
                    "pyslim could not read {runtime_base} (the Docker daemon does not have it), so the venv is made with {path}, where the {} target's base has its Python; if {runtime_base} has it elsewhere the venv will not start there (pull it, then run propose again)",
                    tb.family
                ));
            }
            VenvInterpreter {
                source: format!("assumed: where the {} target's base has it", tb.family),
                path,
            }
        }
        None => {
            warnings.push(format!(
                "no interpreter path is known for {runtime_base}: the venv is made with the builder's `python3`, which must be at the path the runtime has it"
            ));
            VenvInterpreter {
                path: "python3".into(),
                source: "unknown: the builder's python3".into(),
            }
        }
    }
}

/// The Python executables (`pythonX.Y`) among absolute `paths` of a base's files.
pub fn pythons_among<'a>(paths: impl Iterator<Item = &'a str>) -> Vec<String> {
    let mut out: Vec<String> = paths
        .filter(|p| {
            let (dir, name) = p.rsplit_once('/').unwrap_or(("", p));
            dir.ends_with("/bin")
                && name.strip_prefix("python3.").is_some_and(|minor| {
                    !minor.is_empty() && minor.chars().all(|c| c.is_ascii_digit())
                })
        })
        .map(|p| format!("/{}", p.trim_start_matches('/')))
        .collect();
    out.sort();
    out.dedup();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tb(interpreter: &str) -> TargetBases {
        TargetBases {
            builder: "b".into(),
            runtime: "r".into(),
            family: "distroless".into(),
            python: None,
            interpreter: Some(interpreter.into()),
            actions: Default::default(),
        }
    }

    #[test]
    fn the_runtime_bases_own_interpreter_wins_over_the_table() {
        let mut w = Vec::new();
        let found = vec!["/usr/bin/python3.11".to_owned()];
        let i = choose(
            &tb("/usr/local/bin/python{version}"),
            "3.11",
            "debian-python",
            true,
            Some(&found),
            &mut w,
        );
        assert_eq!(i.path, "/usr/bin/python3.11");
        assert!(w.is_empty(), "{w:?}");
        // Not readable: the table's path, said to be assumed.
        let i = choose(
            &tb("/usr/bin/python{version}"),
            "3.11",
            "corp/py",
            true,
            None,
            &mut w,
        );
        assert_eq!(i.path, "/usr/bin/python3.11");
        assert!(w[0].contains("could not read corp/py"), "{w:?}");
    }

    #[test]
    fn pythons_are_versioned_executables_in_a_bin_directory() {
        let paths = [
            "usr/bin/python3.11",
            "usr/bin/python3",
            "usr/local/bin/python3.12",
            "usr/lib/python3.11",
            "usr/bin/python3.11-config",
        ];
        assert_eq!(
            pythons_among(paths.iter().copied()),
            vec!["/usr/bin/python3.11", "/usr/local/bin/python3.12"]
        );
    }
}
