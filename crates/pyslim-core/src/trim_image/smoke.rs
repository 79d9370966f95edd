//! The default smoke test: import the top-level module of every Python distribution the
//! trimmed image keeps, with the interpreter the image would run them with.

use std::collections::{BTreeMap, BTreeSet};

use crate::tree::Tree;
use crate::Examination;

use super::safety::package_removed;

/// What to run: the modules to import, grouped by the interpreter that owns the directory
/// they were installed into, and one interpreter to drive the test.
#[derive(Debug, Clone, PartialEq)]
pub struct SmokeImports {
    /// Absolute path of the interpreter that runs the test script.
    pub python: String,
    /// (interpreter, modules) per site-packages owner, sorted by interpreter.
    pub groups: Vec<(String, Vec<String>)>,
}

impl SmokeImports {
    /// Every module, in group order.
    pub fn modules(&self) -> impl Iterator<Item = &str> {
        self.groups
            .iter()
            .flat_map(|(_, m)| m.iter().map(String::as_str))
    }

    /// The argv that runs the imports and exits 1 if any fails.
    pub fn command(&self) -> Vec<String> {
        let groups = self
            .groups
            .iter()
            .map(|(py, mods)| {
                let list = mods
                    .iter()
                    .map(|m| format!("{m:?}"))
                    .collect::<Vec<_>>()
                    .join(", ");
                format!("({py:?}, [{list}])")
            })
            .collect::<Vec<_>>()
            .join(", ");
        // One interpreter per module: packages that patch the import system (setuptools'
        // distutils hack, pip's vendoring) must not decide whether the next one imports.
        // And each module by the interpreter whose site-packages holds it: a venv's python
        // does not see the system's dist-packages.
        let script = format!(
            "import subprocess, sys\n\
             groups = [{groups}]\n\
             failed = []\n\
             total = 0\n\
             for python, names in groups:\n\
             \x20   for name in names:\n\
             \x20       total += 1\n\
             \x20       r = subprocess.run([python, '-c', 'import ' + name], capture_output=True, text=True)\n\
             \x20       if r.returncode != 0:\n\
             \x20           last = (r.stderr.strip().splitlines() or ['exit %d' % r.returncode])[-1]\n\
             \x20           failed.append(name + ' (' + python + '): ' + last)\n\
             print('pyslim smoke: imported %d of %d modules' % (total - len(failed), total))\n\
             for f in failed:\n\
             \x20   print('pyslim smoke: FAILED', f)\n\
             sys.exit(1 if failed else 0)\n"
        );
        vec![self.python.clone(), "-c".into(), script]
    }
}

fn is_identifier(s: &str) -> bool {
    let mut chars = s.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// The module a top-level path of site-packages is, if it is one: a package directory, a
/// `.py` file or an extension module (`name.cpython-311-x86_64-linux-gnu.so`).
fn module_of(first: &str, is_dir: bool) -> Option<&str> {
    let name = if is_dir {
        first
    } else if let Some(stem) = first.strip_suffix(".py") {
        stem
    } else if first.ends_with(".so") {
        first.split('.').next()?
    } else {
        return None;
    };
    (is_identifier(name) && !name.starts_with("__")).then_some(name)
}

/// The interpreter that owns a site-packages directory: the venv's python for a venv's;
/// for `PREFIX/lib/pythonX.Y/site-packages` (or dist-packages) `PREFIX/bin/pythonX.Y`; for
/// Debian's `usr/lib/python3/dist-packages` the system `usr/bin/python3`. Falls back to the
/// first interpreter that stays.
fn owner(
    location: &str,
    venvs: &[String],
    interpreters: &[String],
    alive: &dyn Fn(&str) -> bool,
) -> Option<String> {
    let mut candidates: Vec<String> = Vec::new();
    if let Some(v) = venvs
        .iter()
        .find(|v| location.starts_with(&format!("{v}/")))
    {
        candidates.push(format!("{v}/bin/python"));
    }
    if let Some((prefix, rest)) = location.split_once("/lib/python") {
        let version = rest.split('/').next().unwrap_or("");
        if version == "3" {
            candidates.push(format!("{prefix}/bin/python3"));
        } else {
            candidates.push(format!("{prefix}/bin/python{version}"));
            candidates.push(format!("{prefix}/bin/python3"));
        }
        candidates.push(format!("{prefix}/bin/python"));
        // Debian's python3 also reads /usr/local's dist-packages.
        candidates.push(format!("usr/bin/python{version}"));
    }
    candidates
        .into_iter()
        .find(|p| alive(p))
        .or_else(|| interpreters.iter().find(|p| alive(p)).cloned())
}

/// The imports for a trimmed image, or `None` when it has no Python to run them.
pub fn imports(ex: &Examination, removed: &[bool]) -> Option<SmokeImports> {
    let tree: &Tree = &ex.tree;
    let inv = &ex.inventory;
    let alive = |path: &str| {
        tree.resolve(path)
            .is_some_and(|n| tree.is_visible(n) && !removed[n as usize])
    };
    let venvs: Vec<String> = inv.venvs.iter().map(|v| v.path.clone()).collect();
    let interpreters: Vec<String> = inv.interpreters.iter().map(|i| i.path.clone()).collect();
    // The driver: a venv's python, otherwise the first interpreter that stays.
    let python = venvs
        .iter()
        .map(|v| format!("{v}/bin/python"))
        .find(|p| alive(p))
        .or_else(|| interpreters.iter().find(|p| alive(p)).cloned())?;
    let mut groups: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for pkg in &inv.python_packages {
        if package_removed(tree, pkg, removed) {
            continue;
        }
        let Some(py) = owner(&pkg.location, &venvs, &interpreters, &alive) else {
            continue;
        };
        let prefix = format!("{}/", pkg.location);
        for &n in &pkg.files_nodes {
            if removed[n as usize] || !tree.is_visible(n) {
                continue;
            }
            let path = tree.path(n);
            let Some(rel) = path.strip_prefix(&prefix) else {
                continue;
            };
            let (first, is_dir) = match rel.split_once('/') {
                Some((dir, _)) => (dir, true),
                None => (rel, false),
            };
            if let Some(m) = module_of(first, is_dir) {
                groups
                    .entry(format!("/{py}"))
                    .or_default()
                    .insert(m.to_owned());
            }
        }
    }
    Some(SmokeImports {
        python: format!("/{python}"),
        groups: groups
            .into_iter()
            .map(|(py, mods)| (py, mods.into_iter().collect()))
            .collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn top_level_paths_name_their_modules() {
        assert_eq!(module_of("numpy", true), Some("numpy"));
        assert_eq!(module_of("six.py", false), Some("six"));
        assert_eq!(
            module_of("_cffi_backend.cpython-311-x86_64-linux-gnu.so", false),
            Some("_cffi_backend")
        );
        assert_eq!(module_of("numpy.libs", true), None);
        assert_eq!(module_of("numpy-1.26.4.dist-info", true), None);
        assert_eq!(module_of("__pycache__", true), None);
        assert_eq!(module_of("distutils-precedence.pth", false), None);
        assert_eq!(
            module_of("81d243bd2c585b0f4821__mypyc.cpython-311.so", false),
            None
        );
    }
}

#[cfg(test)]
mod owner_tests {
    use super::owner;

    #[test]
    fn each_site_packages_goes_to_the_interpreter_that_owns_it() {
        let venvs = vec!["opt/venv".to_owned()];
        let interps = vec![
            "usr/bin/python3.11".to_owned(),
            "usr/local/bin/python3.12".to_owned(),
        ];
        let present = [
            "opt/venv/bin/python",
            "usr/bin/python3",
            "usr/bin/python3.11",
            "usr/local/bin/python3.12",
        ];
        let alive = |p: &str| present.contains(&p);
        let of = |loc: &str| owner(loc, &venvs, &interps, &alive);
        assert_eq!(
            of("opt/venv/lib/python3.11/site-packages").as_deref(),
            Some("opt/venv/bin/python")
        );
        assert_eq!(
            of("usr/lib/python3/dist-packages").as_deref(),
            Some("usr/bin/python3")
        );
        assert_eq!(
            of("usr/local/lib/python3.12/site-packages").as_deref(),
            Some("usr/local/bin/python3.12")
        );
        assert_eq!(
            of("usr/local/lib/python3.11/dist-packages").as_deref(),
            Some("usr/bin/python3.11"),
            "Debian's python reads /usr/local's dist-packages"
        );
        // Nothing owns it any more: the first interpreter that stays.
        assert_eq!(
            of("srv/lib/python3.9/site-packages").as_deref(),
            Some("usr/bin/python3.11")
        );
    }
}
