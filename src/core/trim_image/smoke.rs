//! The default smoke test: import the top-level module of every Python distribution the
//! trimmed image keeps, with the interpreter the image would run them with.

use std::collections::BTreeSet;

use crate::core::tree::Tree;
use crate::core::Examination;

use super::safety::package_removed;

/// What to run: the interpreter and the modules to import.
#[derive(Debug, Clone, PartialEq)]
pub struct SmokeImports {
    /// Absolute path of the interpreter in the image.
    pub python: String,
    pub modules: Vec<String>,
}

impl SmokeImports {
    /// The argv that runs the imports and exits 1 if any fails.
    pub fn command(&self) -> Vec<String> {
        let list = self
            .modules
            .iter()
            .map(|m| format!("{m:?}"))
            .collect::<Vec<_>>()
            .join(", ");
        // One interpreter per module: packages that patch the import system (setuptools'
        // distutils hack, pip's vendoring) must not decide whether the next one imports.
        let script = format!(
            "import subprocess, sys\n\
             names = [{list}]\n\
             failed = []\n\
             for name in names:\n\
             \x20   r = subprocess.run([sys.executable, '-c', 'import ' + name], capture_output=True, text=True)\n\
             \x20   if r.returncode != 0:\n\
             \x20       last = (r.stderr.strip().splitlines() or ['exit %d' % r.returncode])[-1]\n\
             \x20       failed.append(name + ': ' + last)\n\
             print('pyslim smoke: imported %d of %d modules' % (len(names) - len(failed), len(names)))\n\
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

/// The imports for a trimmed image, or `None` when it has no Python to run them.
pub fn imports(ex: &Examination, removed: &[bool]) -> Option<SmokeImports> {
    let tree: &Tree = &ex.tree;
    let inv = &ex.inventory;
    let alive = |path: &str| {
        tree.resolve(path)
            .is_some_and(|n| tree.is_visible(n) && !removed[n as usize])
    };
    // A venv's python runs its packages; otherwise the first interpreter that stays.
    let python = inv
        .venvs
        .iter()
        .map(|v| format!("{}/bin/python", v.path))
        .find(|p| alive(p))
        .or_else(|| {
            inv.interpreters
                .iter()
                .map(|i| i.path.clone())
                .find(|p| alive(p))
        })?;
    let mut modules = BTreeSet::new();
    for pkg in &inv.python_packages {
        if package_removed(tree, pkg, removed) {
            continue;
        }
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
                modules.insert(m.to_owned());
            }
        }
    }
    Some(SmokeImports {
        python: format!("/{python}"),
        modules: modules.into_iter().collect(),
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
