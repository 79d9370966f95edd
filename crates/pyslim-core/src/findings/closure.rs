//! What goes with removed OS packages: the packages only they depend on. Removing gcc and
//! binutils by name leaves libisl, libmpc, libmpfr, libctf0 and libgprofng0 behind, and
//! libctf.so.0 then needs libbfd, which went with binutils: the trim breaks what the user
//! never asked to keep. So a rule with `with_dependencies` also claims every package that
//! the removed ones depend on (dpkg Depends and Pre-Depends, transitively) and that nothing
//! staying depends on: no kept package, and no kept ELF file through DT_NEEDED. Essential
//! and required packages always stay.

use rustc_hash::{FxHashMap, FxHashSet};

use super::Context;
use crate::content::Captured;
use crate::inventory::final_capture;
use crate::tree::NodeId;

/// The packages (indexes into `os_packages`) that go with `picked`, not counting `picked`
/// themselves, in index order.
pub(crate) fn dependencies_only_of(ctx: &Context, picked: &[usize]) -> Vec<usize> {
    let pkgs = &ctx.inventory.os_packages;
    let by_name: FxHashMap<&str, usize> = pkgs
        .iter()
        .enumerate()
        .map(|(i, p)| (p.name.as_str(), i))
        .collect();
    // Who depends on each package.
    let mut rdeps: Vec<Vec<usize>> = vec![Vec::new(); pkgs.len()];
    for (i, p) in pkgs.iter().enumerate() {
        for d in &p.depends {
            if let Some(&j) = by_name.get(d.as_str()) {
                if j != i {
                    rdeps[j].push(i);
                }
            }
        }
    }
    // Files of each package, to see which libraries a package provides and which ELF files stay.
    let mut files_of: Vec<Vec<NodeId>> = vec![Vec::new(); pkgs.len()];
    for (&node, &i) in &ctx.inventory.owner {
        files_of[i].push(node);
    }
    let is_picked: FxHashSet<usize> = picked.iter().copied().collect();
    // Packages a staying ELF file needs: never part of the closure.
    let mut pinned = vec![false; pkgs.len()];
    loop {
        let mut gone = vec![false; pkgs.len()];
        for &i in picked {
            gone[i] = true;
        }
        // Grow to a fixed point: a package goes when something gone depends on it and
        // everything depending on it is gone.
        let mut changed = true;
        while changed {
            changed = false;
            for q in 0..pkgs.len() {
                if gone[q] || pinned[q] || pkgs[q].essential || rdeps[q].is_empty() {
                    continue;
                }
                if rdeps[q].iter().all(|&r| gone[r]) {
                    gone[q] = true;
                    changed = true;
                }
            }
        }
        let added: Vec<usize> = (0..pkgs.len())
            .filter(|&q| gone[q] && !is_picked.contains(&q))
            .collect();
        let newly_pinned = needed_by_staying_elf(ctx, &files_of, &gone, &added);
        if newly_pinned.is_empty() {
            return added;
        }
        for q in newly_pinned {
            pinned[q] = true;
        }
    }
}

/// Of the `added` packages, those providing a library (by file name or SONAME) that an ELF
/// file of a staying package, or of no package, loads.
fn needed_by_staying_elf(
    ctx: &Context,
    files_of: &[Vec<NodeId>],
    gone: &[bool],
    added: &[usize],
) -> Vec<usize> {
    let tree = ctx.tree;
    let elf = |n: NodeId| match final_capture(ctx.image, tree, n) {
        Some(Captured::Elf(info)) => Some(info),
        _ => None,
    };
    let mut provided_by: FxHashMap<String, usize> = FxHashMap::default();
    for &q in added {
        for &n in &files_of[q] {
            let name = &*tree.node(n).name;
            if name.contains(".so") {
                provided_by.insert(name.to_owned(), q);
            }
            if let Some(soname) = elf(n).and_then(|i| i.soname.clone()) {
                provided_by.insert(soname, q);
            }
        }
    }
    if provided_by.is_empty() {
        return Vec::new();
    }
    let mut pinned: Vec<usize> = Vec::new();
    for n in tree.final_nodes() {
        if ctx.inventory.owner.get(&n).is_some_and(|&i| gone[i]) {
            continue;
        }
        let Some(info) = elf(n) else { continue };
        for lib in &info.needed {
            if let Some(&q) = provided_by.get(lib) {
                if !pinned.contains(&q) {
                    pinned.push(q);
                }
            }
        }
    }
    pinned
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inventory::parse_dpkg_status;

    /// A bookworm-shaped status: binutils' libraries, gcc's, and a runtime library that
    /// python3 needs too.
    const STATUS: &str = "\
Package: binutils\nStatus: install ok installed\nDepends: binutils-x86-64-linux-gnu, libbinutils\n\n\
Package: binutils-x86-64-linux-gnu\nStatus: install ok installed\nDepends: libbinutils, libctf0, libgprofng0, libjansson4, libc6, zlib1g\n\n\
Package: libbinutils\nStatus: install ok installed\nDepends: libc6, zlib1g\n\n\
Package: libctf0\nStatus: install ok installed\nDepends: libbinutils, libc6\n\n\
Package: libgprofng0\nStatus: install ok installed\nDepends: libbinutils, libc6\n\n\
Package: libjansson4\nStatus: install ok installed\nDepends: libc6\n\n\
Package: gcc-12\nStatus: install ok installed\nDepends: cpp-12, libisl23, libmpc3, libc6\n\n\
Package: cpp-12\nStatus: install ok installed\nDepends: libisl23, libmpc3, libmpfr6\n\n\
Package: libisl23\nStatus: install ok installed\nDepends: libc6\n\n\
Package: libmpc3\nStatus: install ok installed\nDepends: libmpfr6\n\n\
Package: libmpfr6\nStatus: install ok installed\nDepends: libc6\n\n\
Package: zlib1g\nStatus: install ok installed\nPriority: required\nDepends: libc6\n\n\
Package: libc6\nStatus: install ok installed\nPriority: required\n\n\
Package: tar\nStatus: install ok installed\nEssential: yes\n\n\
Package: dpkg-dev\nStatus: install ok installed\nDepends: tar, binutils\n\n\
Package: python3\nStatus: install ok installed\nDepends: libc6, libjansson4\n";

    fn closure_of(status: &str, picked: &[&str]) -> Vec<String> {
        let pkgs = parse_dpkg_status(status);
        let inventory = crate::inventory::Inventory {
            os_packages: pkgs,
            ..Default::default()
        };
        let image = crate::image::Image {
            reference: "test".into(),
            source: crate::image::SourceKind::Demo,
            id: String::new(),
            config: Default::default(),
            history: Vec::new(),
            layers: Vec::new(),
            warnings: Vec::new(),
        };
        let tree = crate::tree::Tree::default();
        let ctx = Context {
            image: &image,
            tree: &tree,
            inventory: &inventory,
        };
        let idx: Vec<usize> = picked
            .iter()
            .filter_map(|n| inventory.os_packages.iter().position(|p| p.name == *n))
            .collect();
        let mut names: Vec<String> = dependencies_only_of(&ctx, &idx)
            .into_iter()
            .map(|i| inventory.os_packages[i].name.clone())
            .collect();
        names.sort();
        names
    }

    #[test]
    fn the_toolchains_own_libraries_go_with_it_and_shared_ones_stay() {
        let got = closure_of(STATUS, &["binutils", "gcc-12", "cpp-12", "dpkg-dev"]);
        // libjansson4 stays (python3 needs it); tar is essential; libc6 and zlib1g required.
        assert_eq!(
            got,
            [
                "binutils-x86-64-linux-gnu",
                "libbinutils",
                "libctf0",
                "libgprofng0",
                "libisl23",
                "libmpc3",
                "libmpfr6"
            ]
        );
    }

    #[test]
    fn a_library_still_depended_on_by_a_kept_package_stays() {
        // Without dpkg-dev removed, binutils stays wanted: only gcc's libraries go.
        let got = closure_of(STATUS, &["gcc-12", "cpp-12"]);
        assert_eq!(got, ["libisl23", "libmpc3", "libmpfr6"]);
    }
}
