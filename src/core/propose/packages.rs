//! OS packages for the proposal: which of those the build installed are only for building,
//! which libraries the runtime still needs (libpq-dev stands for libpq5), and their Alpine
//! names.

use std::collections::BTreeSet;

use super::bases::{Bases, Target};
use super::plan::RenderedStep;
use crate::core::findings::paths::glob_set;
use crate::core::findings::RuleSet;
use crate::core::inventory::Inventory;
use crate::core::tree::Tree;

/// OS packages only a build needs: the compilers and dev-packages rules' globs, plus the
/// table's list of build tools.
pub(crate) fn build_only_packages(rules: &RuleSet, bases: &Bases) -> globset::GlobSet {
    let mut patterns: Vec<String> = rules
        .rules
        .iter()
        .filter(|r| r.id == "compilers" || r.id == "dev-packages")
        .flat_map(|r| r.packages.iter().cloned())
        .collect();
    patterns.extend(bases.build_only.iter().cloned());
    glob_set(patterns.iter())
}

/// The runtime's OS packages: what the build installed minus build-only packages, plus the
/// libraries each -dev package depends on (libpq-dev → libpq5).
pub(crate) fn runtime_packages(
    installed: &[String],
    build_only: &globset::GlobSet,
    inv: &Inventory,
    bases: &Bases,
    target: Target,
    in_base: &dyn Fn(&str) -> bool,
) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut push = |n: &str| {
        if !out.iter().any(|o| o == n) {
            out.push(n.to_owned());
        }
    };
    for name in installed {
        if !build_only.is_match(name.as_str()) {
            push(name);
            continue;
        }
        // A library's -dev package (libpq-dev) stands for the library (libpq5) that what was
        // built against it links at run time. Toolchains (build-essential, python3-dev) do not.
        if !is_library_dev(name) {
            continue;
        }
        let mut stack = vec![name.clone()];
        let mut seen = BTreeSet::new();
        while let Some(n) = stack.pop() {
            if !seen.insert(n.clone()) {
                continue;
            }
            let Some(pkg) = inv.os_packages.iter().find(|p| p.name == n) else {
                continue;
            };
            for d in &pkg.depends {
                if is_library_dev(d) {
                    stack.push(d.clone());
                } else if is_runtime_library(d) && !build_only.is_match(d.as_str()) && !in_base(d) {
                    push(d);
                }
            }
        }
    }
    if target == Target::Alpine {
        return out
            .into_iter()
            .map(|n| bases.apk_names.get(&n).cloned().unwrap_or(n))
            .collect();
    }
    out
}

/// `libpq-dev`, `libssl-dev`: the development files of one library.
fn is_library_dev(name: &str) -> bool {
    name.starts_with("lib") && name.ends_with("-dev") && !name.starts_with("libc6")
}

/// The layer that installed an OS package, by its dpkg file list (or None).
pub(crate) fn os_package_layer(tree: &Tree, name: &str) -> Option<usize> {
    [
        format!("var/lib/dpkg/info/{name}.list"),
        format!("var/lib/dpkg/info/{name}:amd64.list"),
        format!("var/lib/dpkg/info/{name}:arm64.list"),
    ]
    .iter()
    .filter_map(|p| tree.lookup(p))
    .filter_map(|n| tree.node(n).events.first())
    .map(|e| e.layer as usize)
    .min()
}

/// Libraries worth installing in a runtime: `lib*` packages other than the C and compiler
/// runtimes every base already has.
fn is_runtime_library(name: &str) -> bool {
    const EVERY_BASE_HAS: &[&str] = &["libc6", "libgcc-s1", "libstdc++6", "libcrypt1", "libc-bin"];
    name.starts_with("lib")
        && !name.starts_with("libpython")
        && !EVERY_BASE_HAS.contains(&name)
        && !name.starts_with("libgcc")
        && !name.starts_with("libc-dev")
}

/// The builder's `apk add` for what an apt-get step installed, by the table's names.
pub(crate) fn alpine_install(
    packages: &[String],
    bases: &Bases,
    build_only: &globset::GlobSet,
) -> RenderedStep {
    let mut names = vec!["build-base".to_owned()];
    let mut unknown = Vec::new();
    for p in packages {
        match bases.apk_names.get(p) {
            Some(a) if !names.contains(a) => names.push(a.clone()),
            Some(_) => {}
            None if build_only.is_match(p.as_str()) => {}
            None => unknown.push(p.clone()),
        }
    }
    let mut comments = vec![
        "apt-get has no Alpine counterpart: the same packages by their Alpine names".to_owned(),
    ];
    if !unknown.is_empty() {
        comments.push(format!(
            "no Alpine name known for: {} (add them)",
            unknown.join(", ")
        ));
    }
    RenderedStep {
        text: format!("RUN apk add --no-cache {}", names.join(" ")),
        comments,
    }
}
