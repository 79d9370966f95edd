//! How each kind of finding becomes a Dockerfile edit that saves its bytes: which packages
//! a RUN can purge, which later `rm` can move into the RUN that wrote the files, which
//! locales a RUN can drop, and where pip's own tools can be uninstalled. `patch` decides
//! which finding gets which edit and counts what it saves.

use rustc_hash::FxHashSet;

use super::super::dockerfile::{Dockerfile, Instruction};
use super::super::findings::{Finding, Rule};
use super::super::tree::NodeId;
use super::super::Examination;

/// Commands in a later RUN that may need a compiler or headers (building from source).
const BUILDS: &[&str] = &[
    "pip install",
    "pip3 install",
    "pip wheel",
    "setup.py",
    "make",
    "gcc",
    "g++",
    "cc ",
    "cmake",
    "cargo",
    "uv pip",
    "poetry install",
];

/// Words of `apt-get install` (or `apt install`) arguments in a RUN: the package names.
pub(super) fn apt_installed(args: &str) -> Vec<String> {
    let mut out = Vec::new();
    for part in args.split(['&', ';', '|', '\n']) {
        let words: Vec<&str> = part.split_whitespace().filter(|w| *w != "\\").collect();
        let Some(at) = words.iter().position(|w| *w == "install") else {
            continue;
        };
        if !words[..at].iter().any(|w| *w == "apt-get" || *w == "apt") {
            continue;
        }
        for w in &words[at + 1..] {
            if !w.starts_with('-') {
                out.push(w.split('=').next().unwrap_or(w).to_owned());
            }
        }
    }
    out
}

/// The RUNs after instruction `after`, in its stage.
pub(super) fn later_runs(
    df: &Dockerfile,
    after: usize,
) -> impl Iterator<Item = (usize, &Instruction)> + '_ {
    let stage = df.instructions.get(after).map(|i| i.stage);
    df.instructions
        .iter()
        .enumerate()
        .skip(after + 1)
        .filter(move |(_, i)| Some(i.stage) == stage && i.keyword == "RUN")
}

pub(super) fn uses_pip(args: &str) -> bool {
    args.contains("pip ") || args.contains("pip3 ") || args.contains("-m pip")
}

/// Files of the finding the final image shows from layer `l`.
pub(super) fn files_from_layer(ex: &Examination, f: &Finding, l: u32) -> Vec<NodeId> {
    f.files
        .iter()
        .copied()
        .filter(|&n| ex.tree.final_state(n).is_some_and(|e| e.layer == l))
        .collect()
}

/// `apt-get purge -y --auto-remove NAMES` for the finding's packages that the RUN at `at`
/// installs by name, or why the RUN cannot take it.
pub(super) fn purge(
    ex: &Examination,
    rule: &Rule,
    f: &Finding,
    layer: u32,
    at: usize,
    df: &Dockerfile,
    made_by: &[Option<usize>],
) -> Result<String, String> {
    let ins = &df.instructions[at];
    let installed = apt_installed(&ins.args);
    // Every package of the finding with files this layer wrote, by name: autoremove alone
    // keeps the toolchain (apt Suggests dpkg-dev, which Recommends gcc, and apt counts both
    // as important), so naming only build-essential would leave gcc, make and binutils.
    let mut names: Vec<String> = Vec::new();
    for n in files_from_layer(ex, f, layer) {
        if let Some(&p) = ex.inventory.owner.get(&n) {
            let name = &ex.inventory.os_packages[p].name;
            if !names.contains(name) {
                names.push(name.clone());
            }
        }
    }
    if installed.is_empty() {
        return Err(format!(
            "line {}: the packages were not installed by an `apt-get install` there",
            ins.first_line + 1
        ));
    }
    // What the RUN names that the rule claims: a meta-package (build-essential) owns no
    // file of the finding but pulls the compilers in.
    let claims = crate::findings::paths::glob_set(&rule.packages);
    for name in &installed {
        if claims.is_match(name) && !names.contains(name) {
            names.push(name.clone());
        }
    }
    if names.is_empty() {
        return Err(format!(
            "line {}: no package of the finding was installed there",
            ins.first_line + 1
        ));
    }
    let may_build = |(n, i): &(usize, &Instruction)| {
        BUILDS.iter().any(|b| i.args.contains(b)) && !only_prebuilt_wheels(ex, made_by, *n)
    };
    if let Some((_, later)) = later_runs(df, at).find(may_build) {
        return Err(format!(
            "a later RUN (line {}) may build with them (`{}`): purge them after it, or build in a separate stage (pyslim propose)",
            later.first_line + 1,
            crate::format::clip_line(&later.args, 50)
        ));
    }
    names.sort();
    Ok(format!(
        "apt-get purge -y --auto-remove {}",
        names.join(" ")
    ))
}

/// For bytes layer `layer` wrote and one later RUN deleted with nothing but `rm`
/// (`RUN rm -rf /tmp/wheels`): that `rm`, to run in the RUN that wrote them instead, where
/// deleting saves the bytes. None when anything else hid them (a rewrite, a COPY, a RUN
/// doing more than removing).
pub(super) fn later_rm(
    ex: &Examination,
    f: &Finding,
    layer: u32,
    made_by: &[Option<usize>],
    df: &Dockerfile,
) -> Option<String> {
    let names: FxHashSet<&str> = f.items.iter().map(|i| i.name.as_str()).collect();
    let mut hiders: Vec<u32> = ex
        .tree
        .inodes
        .iter()
        .filter(|i| {
            i.layer == layer && !i.visible() && names.contains(ex.tree.path(i.node).as_str())
        })
        .filter_map(|i| i.hidden_by)
        .collect();
    hiders.sort_unstable();
    hiders.dedup();
    let [hider] = hiders[..] else { return None };
    if hider == layer {
        return None;
    }
    // Every hidden byte of the finding went in that layer, by deletion.
    let deleted = ex
        .tree
        .inodes
        .iter()
        .filter(|i| i.layer == layer && i.hidden_by == Some(hider))
        .all(|i| {
            ex.tree
                .node(i.node)
                .events
                .iter()
                .chain(ancestors_events(ex, i.node).iter())
                .any(|e| e.layer == hider && e.change == crate::tree::Change::Deleted)
        });
    if !deleted {
        return None;
    }
    let at = (*made_by.get(hider as usize)?)?;
    let ins = &df.instructions[at];
    if ins.keyword != "RUN" || ins.json_form || ins.heredoc {
        return None;
    }
    let parts: Vec<&str> = ins.args.split("&&").map(str::trim).collect();
    let only_rm = parts
        .iter()
        .all(|p| p.starts_with("rm ") && !p.contains(['|', ';', '$', '`']));
    only_rm.then(|| parts.join(" && "))
}

/// The events of every directory above `n`: a file goes when a directory above it is deleted.
pub(super) fn ancestors_events(ex: &Examination, n: NodeId) -> Vec<crate::tree::Event> {
    let mut out = Vec::new();
    let mut cur = n;
    while cur != crate::tree::ROOT {
        cur = ex.tree.node(cur).parent;
        out.extend(ex.tree.node(cur).events.iter().cloned());
    }
    out
}

/// Removes, in the RUN that wrote them, the locale directories the finding claims: for
/// each locale root the layer wrote into, every entry but the ones the image keeps (the
/// configured locale, C, locale.alias), named so the RUN keeps exactly what the trim would.
pub(super) fn locales_cleanup(ex: &Examination, f: &Finding, layer: u32) -> Option<String> {
    let claimed: FxHashSet<NodeId> = f.files.iter().copied().collect();
    let mut finds = Vec::new();
    for root in [
        "usr/share/locale",
        "usr/lib/locale",
        "usr/share/i18n/locales",
    ] {
        let Some(dir) = ex.tree.lookup(root) else {
            continue;
        };
        let mut wrote = false;
        let mut keep: Vec<String> = Vec::new();
        for &c in &ex.tree.node(dir).children {
            if !ex.tree.is_visible(c) {
                continue;
            }
            let mut files = Vec::new();
            under(ex, c, &mut files);
            let gone = !files.is_empty() && files.iter().all(|n| claimed.contains(n));
            if gone {
                wrote |= files
                    .iter()
                    .any(|&n| ex.tree.final_state(n).is_some_and(|e| e.layer == layer));
            } else {
                keep.push(ex.tree.node(c).name.to_string());
            }
        }
        if !wrote {
            continue;
        }
        keep.sort();
        // A name the shell or find would read as more than itself: no command at all,
        // rather than one that deletes what it should keep.
        if keep
            .iter()
            .any(|k| k.contains(['\'', '"', '$', '`', '\\', '*', '?', '[']))
        {
            return None;
        }
        let names: String = keep.iter().map(|k| format!(" ! -name '{k}'")).collect();
        finds.push(format!(
            "find /{root} -mindepth 1 -maxdepth 1{names} -exec rm -rf '{{}}' +"
        ));
    }
    (!finds.is_empty()).then(|| finds.join(" && "))
}

/// Every non-directory path under `n` (itself, if it is one) in the final image.
pub(super) fn under(ex: &Examination, n: NodeId, out: &mut Vec<NodeId>) {
    let Some(e) = ex.tree.final_state(n) else {
        return;
    };
    if e.kind != crate::entry::EntryKind::Dir {
        out.push(n);
        return;
    }
    for &c in &ex.tree.node(n).children {
        if ex.tree.is_visible(c) {
            under(ex, c, out);
        }
    }
}

/// Whether the RUN at `at` installed only wheels built elsewhere (manylinux, musllinux or
/// pure-Python tags): pip compiled nothing there, so the compilers were not needed. A wheel
/// pip built from an sdist on the spot is tagged `linux_x86_64`.
pub(super) fn only_prebuilt_wheels(ex: &Examination, made_by: &[Option<usize>], at: usize) -> bool {
    let Some(layer) = made_by.iter().position(|m| *m == Some(at)) else {
        return false;
    };
    let written: Vec<_> = ex
        .inventory
        .python_packages
        .iter()
        .filter(|p| {
            p.files_nodes.iter().any(|&n| {
                ex.tree
                    .final_state(n)
                    .is_some_and(|e| e.layer as usize == layer)
            })
        })
        .collect();
    !written.is_empty()
        && written.iter().all(|p| {
            !p.wheel_tags.is_empty()
                && p.wheel_tags.iter().all(|t| {
                    t.contains("manylinux") || t.contains("musllinux") || t.ends_with("-none-any")
                })
        })
}

/// Where and how to uninstall pip, setuptools and wheel: with the venv's own interpreter
/// (Debian's system pip refuses, PEP 668), in the last RUN of the stage that uses pip, so
/// no later RUN loses the pip it calls. None when the tools are the system Python's.
pub(super) fn uninstall_tools(
    ex: &Examination,
    f: &Finding,
    at: usize,
    df: &Dockerfile,
) -> Option<(usize, String)> {
    let venv = ex.inventory.venvs.iter().find(|v| {
        f.files
            .iter()
            .any(|&n| ex.tree.path(n).starts_with(&format!("{}/", v.path)))
    })?;
    let target = later_runs(df, at)
        .filter(|(_, i)| uses_pip(&i.args))
        .map(|(n, _)| n)
        .last()
        .unwrap_or(at);
    Some((
        target,
        format!(
            "/{}/bin/python -m pip uninstall -y pip setuptools wheel",
            venv.path
        ),
    ))
}
