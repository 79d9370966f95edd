//! What a removal would break, checked before anything is written: the interpreter the image
//! runs, shared libraries a kept ELF file loads (DT_NEEDED), Python distributions a kept one
//! requires (Requires-Dist), and files the entrypoint and command name.

use rustc_hash::FxHashMap;
use serde::Serialize;

use crate::content::Captured;
use crate::entry::EntryKind;
use crate::image::Image;
use crate::inventory::{final_capture, normalize_dist_name, PythonPackage};
use crate::tree::{NodeId, Tree};
use crate::Examination;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "kebab-case")]
pub enum Breakage {
    Interpreter,
    SharedLibrary,
    PythonPackage,
    Entrypoint,
}

impl Breakage {
    pub fn as_str(self) -> &'static str {
        match self {
            Breakage::Interpreter => "interpreter",
            Breakage::SharedLibrary => "shared library",
            Breakage::PythonPackage => "python package",
            Breakage::Entrypoint => "entrypoint",
        }
    }
}

/// One thing the trimmed image would lose that something kept depends on.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Problem {
    pub kind: Breakage,
    /// The path (or package) that would go.
    pub path: String,
    /// The removed node behind it, to name the finding that removes it.
    #[serde(skip)]
    pub node: NodeId,
    pub message: String,
}

/// Most dependants named in one message.
const NAMED: usize = 3;

pub fn check(image: &Image, ex: &Examination, removed: &[bool]) -> Vec<Problem> {
    let mut problems = Vec::new();
    interpreters(ex, removed, &mut problems);
    entrypoint(image, ex, removed, &mut problems);
    shared_libraries(image, &ex.tree, removed, &mut problems);
    python_packages(ex, removed, &mut problems);
    problems
}

/// Follows symlinks, the last component too, to the node a path finally names.
fn follow(tree: &Tree, path: &str) -> Option<NodeId> {
    let mut path = path.trim_start_matches('/').to_owned();
    for _ in 0..40 {
        let n = tree.resolve(&path)?;
        let e = tree.final_state(n)?;
        if e.kind != EntryKind::Symlink {
            return Some(n);
        }
        let target = e.link_target.as_deref().unwrap_or("");
        path = if target.starts_with('/') {
            target.trim_start_matches('/').to_owned()
        } else {
            let parent = tree.path(tree.node(n).parent);
            if parent.is_empty() {
                target.to_owned()
            } else {
                format!("{parent}/{target}")
            }
        };
    }
    None
}

/// Whether the path (or what its symlinks lead to) is gone after the trim, given it was
/// there before.
fn lost(tree: &Tree, removed: &[bool], path: &str) -> Option<(String, NodeId)> {
    let first = tree.resolve(path.trim_start_matches('/'))?;
    tree.final_state(first)?;
    if removed[first as usize] {
        return Some((tree.path(first), first));
    }
    let last = follow(tree, path)?;
    removed[last as usize].then(|| (tree.path(last), last))
}

fn interpreters(ex: &Examination, removed: &[bool], out: &mut Vec<Problem>) {
    let tree = &ex.tree;
    for venv in &ex.inventory.venvs {
        let python = format!("{}/bin/python", venv.path);
        if let Some((gone, node)) = lost(tree, removed, &python) {
            out.push(Problem {
                kind: Breakage::Interpreter,
                path: gone.clone(),
                node,
                message: format!(
                    "the venv /{} runs /{gone}, which the trim removes",
                    venv.path
                ),
            });
        }
    }
    let interps = &ex.inventory.interpreters;
    let all_gone = !interps.is_empty()
        && interps
            .iter()
            .all(|i| lost(tree, removed, &i.path).is_some());
    if all_gone {
        out.push(Problem {
            kind: Breakage::Interpreter,
            path: interps[0].path.clone(),
            node: tree.resolve(&interps[0].path).unwrap_or(0),
            message: format!(
                "the trim removes every Python interpreter (/{})",
                interps
                    .iter()
                    .map(|i| i.path.as_str())
                    .collect::<Vec<_>>()
                    .join(", /")
            ),
        });
    }
}

fn entrypoint(image: &Image, ex: &Examination, removed: &[bool], out: &mut Vec<Problem>) {
    // Where `python -m` finds modules: site-packages, then each interpreter's stdlib.
    let mut roots: Vec<String> = Vec::new();
    for p in &ex.inventory.python_packages {
        if !roots.contains(&p.location) {
            roots.push(p.location.clone());
        }
    }
    for i in &ex.inventory.interpreters {
        if let Some((prefix, name)) = i.path.rsplit_once("/bin/") {
            let stdlib = format!("{prefix}/lib/{name}");
            if !roots.contains(&stdlib) {
                roots.push(stdlib);
            }
        }
    }
    for need in super::entrypoint::needed(&image.config, &ex.tree, &roots) {
        if let Some((gone, node)) = lost(&ex.tree, removed, &need.path) {
            out.push(Problem {
                kind: Breakage::Entrypoint,
                path: gone.clone(),
                node,
                message: format!(
                    "the image's entrypoint/command {}, and the trim removes /{gone}",
                    need.why
                ),
            });
        }
    }
}

fn elf_of<'a>(image: &'a Image, tree: &Tree, n: NodeId) -> Option<&'a crate::content::ElfInfo> {
    match final_capture(image, tree, n)? {
        Captured::Elf(info) => Some(info),
        Captured::Text(_) | Captured::Credential(_) => None,
    }
}

fn shared_libraries(image: &Image, tree: &Tree, removed: &[bool], out: &mut Vec<Problem>) {
    // Who answers to a library name: files and symlinks by file name, ELF files by SONAME.
    let mut providers: FxHashMap<String, Vec<NodeId>> = FxHashMap::default();
    for n in tree.final_nodes() {
        let Some(e) = tree.final_state(n) else {
            continue;
        };
        let name = &*tree.node(n).name;
        if matches!(
            e.kind,
            EntryKind::File | EntryKind::Symlink | EntryKind::Hardlink
        ) && name.contains(".so")
        {
            providers.entry(name.to_owned()).or_default().push(n);
        }
        if let Some(soname) = elf_of(image, tree, n).and_then(|i| i.soname.as_ref()) {
            if soname != name {
                providers.entry(soname.clone()).or_default().push(n);
            }
        }
    }
    // A provider works when it and whatever its symlinks lead to survive.
    let works = |n: NodeId| {
        !removed[n as usize] && follow(tree, &tree.path(n)).is_some_and(|t| !removed[t as usize])
    };
    let worked = |n: NodeId| follow(tree, &tree.path(n)).is_some();
    let mut missing: FxHashMap<&str, Vec<NodeId>> = FxHashMap::default();
    for n in tree.final_nodes() {
        if removed[n as usize] {
            continue;
        }
        let Some(info) = elf_of(image, tree, n) else {
            continue;
        };
        for lib in &info.needed {
            let Some(candidates) = providers.get(lib) else {
                continue; // never in the image: not this trim's doing
            };
            if candidates.iter().any(|&c| worked(c)) && !candidates.iter().any(|&c| works(c)) {
                missing.entry(lib.as_str()).or_default().push(n);
            }
        }
    }
    let mut libs: Vec<_> = missing.into_iter().collect();
    libs.sort();
    for (lib, users) in libs {
        let gone: Vec<String> = providers[lib]
            .iter()
            .map(|&p| format!("/{}", tree.path(p)))
            .collect();
        let gone = gone.join(", ");
        let mut names: Vec<String> = users
            .iter()
            .map(|&u| format!("/{}", tree.path(u)))
            .collect();
        names.sort();
        let more = names.len().saturating_sub(NAMED);
        names.truncate(NAMED);
        let first_gone = providers[lib]
            .iter()
            .copied()
            .find(|&p| removed[p as usize])
            .or_else(|| {
                providers[lib]
                    .iter()
                    .find_map(|&p| follow(tree, &tree.path(p)).filter(|&t| removed[t as usize]))
            })
            .unwrap_or(providers[lib][0]);
        out.push(Problem {
            kind: Breakage::SharedLibrary,
            path: tree.path(first_gone),
            node: first_gone,
            message: format!(
                "{} need{} {lib} (DT_NEEDED), and the trim removes {}",
                names.join(", ")
                    + &if more > 0 {
                        format!(" and {more} more")
                    } else {
                        String::new()
                    },
                if users.len() == 1 { "s" } else { "" },
                gone
            ),
        });
    }
}

fn metadata_node(tree: &Tree, pkg: &PythonPackage) -> Option<NodeId> {
    pkg.files_nodes.iter().copied().find(|&n| {
        let node = tree.node(n);
        &*node.name == "METADATA" && tree.node(node.parent).name.ends_with(".dist-info")
    })
}

/// A distribution goes when its METADATA does (or, without one, all of its files).
pub fn package_removed(tree: &Tree, pkg: &PythonPackage, removed: &[bool]) -> bool {
    match metadata_node(tree, pkg) {
        Some(m) => removed[m as usize],
        None => !pkg.files_nodes.is_empty() && pkg.files_nodes.iter().all(|&n| removed[n as usize]),
    }
}

fn python_packages(ex: &Examination, removed: &[bool], out: &mut Vec<Problem>) {
    let tree = &ex.tree;
    let pkgs = &ex.inventory.python_packages;
    let gone: Vec<bool> = pkgs
        .iter()
        .map(|p| package_removed(tree, p, removed))
        .collect();
    for (p, _) in pkgs.iter().zip(&gone).filter(|(_, &g)| !g) {
        for req in &p.requires {
            let wanted = normalize_dist_name(req);
            // The requirement is met from the same site-packages when it can be.
            let candidates: Vec<usize> = (0..pkgs.len())
                .filter(|&i| normalize_dist_name(&pkgs[i].name) == wanted)
                .collect();
            if !candidates.is_empty() && candidates.iter().all(|&i| gone[i]) {
                let q = &pkgs[candidates[0]];
                out.push(Problem {
                    kind: Breakage::PythonPackage,
                    path: q.name.clone(),
                    node: metadata_node(tree, q)
                        .or_else(|| q.files_nodes.first().copied())
                        .unwrap_or(0),
                    message: format!(
                        "{} {} requires {} (Requires-Dist), and the trim removes {} {} from /{}",
                        p.name, p.version, req, q.name, q.version, q.location
                    ),
                });
            }
        }
    }
}
