//! What is installed in the final image: OS packages (dpkg, apk) with the files each brought,
//! Python distributions (from `.dist-info` and `.egg-info`), interpreters, venvs, the OS and
//! its libc. Read from captured metadata of the paths the final image shows.

use rustc_hash::FxHashMap;
use serde::Serialize;

use super::content::Captured;
use super::entry::EntryKind;
use super::image::Image;
use super::markers::MarkerEnv;
use super::tree::{NodeId, Tree};

mod owners;
mod parse;

pub use self::owners::SharedDir;
use self::parse::{machine, parse_metadata, parse_os_release, python_version_of};
pub use self::parse::{normalize_dist_name, parse_apk_installed, parse_dpkg_status};

#[derive(Debug, Clone, Default, Serialize, PartialEq)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Inventory {
    pub os: Option<OsRelease>,
    /// `glibc`, `musl`, or `unknown`.
    pub libc: String,
    /// `dpkg`, `apk`, or `none`.
    pub package_manager_db: String,
    pub os_packages: Vec<OsPackage>,
    pub python_packages: Vec<PythonPackage>,
    pub interpreters: Vec<Interpreter>,
    pub venvs: Vec<Venv>,
    /// Final-image path → index into `os_packages` of the package that installed it. A
    /// directory is here only when that one package owns everything under it.
    #[serde(skip)]
    pub owner: FxHashMap<NodeId, usize>,
    /// Directories a package list names that several packages (or unpackaged files) share.
    #[serde(skip)]
    pub shared_dirs: FxHashMap<NodeId, SharedDir>,
}

#[derive(Debug, Clone, Default, Serialize, PartialEq)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct OsRelease {
    pub id: String,
    pub version_id: String,
    pub pretty_name: String,
}

#[derive(Debug, Clone, Default, Serialize, PartialEq)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct OsPackage {
    pub name: String,
    pub version: String,
    /// What the package database says it occupies.
    pub installed_bytes: u64,
    /// Bytes of its files the final image really shows (0 when no file list is available).
    pub file_bytes: u64,
    pub files: u64,
    /// Names it depends on (Depends and Pre-Depends; apk `D:`), first of each alternative,
    /// without versions.
    #[serde(skip)]
    pub depends: Vec<String>,
    /// dpkg's `Essential: yes` or `Priority: required`: the system needs it whatever depends
    /// on it, so no dependency closure takes it away.
    #[serde(skip)]
    pub essential: bool,
}

#[derive(Debug, Clone, Default, Serialize, PartialEq)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct PythonPackage {
    pub name: String,
    pub version: String,
    /// The site-packages (or dist-packages) directory it lives in.
    pub location: String,
    /// `pip`, `uv`, `poetry`, `debian` … from INSTALLER; empty when not recorded.
    pub installer: String,
    /// Bytes on disk of the files its RECORD lists (0 when it has no RECORD).
    pub bytes: u64,
    pub files: u64,
    /// Names from Requires-Dist, lower-case, without versions or markers.
    pub requires: Vec<String>,
    /// Platform tags from the WHEEL file (`cp311-cp311-manylinux_2_17_x86_64`), if any.
    pub wheel_tags: Vec<String>,
    /// The final-image files its RECORD lists.
    #[serde(skip)]
    pub files_nodes: Vec<NodeId>,
}

#[derive(Debug, Clone, Default, Serialize, PartialEq)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Interpreter {
    /// The executable, e.g. `usr/local/bin/python3.12`.
    pub path: String,
    /// `3.12`.
    pub version: String,
    /// The OS package that installed it (`python3.11-minimal`), when one did.
    pub package: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize, PartialEq)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Venv {
    pub path: String,
    /// `home` from pyvenv.cfg: the directory of the interpreter it was made from.
    pub home: String,
    pub version: String,
    pub system_site_packages: bool,
}

/// The text captured for a path of the final image.
pub fn final_text<'a>(image: &'a Image, tree: &Tree, id: NodeId) -> Option<&'a [u8]> {
    match final_capture(image, tree, id)? {
        Captured::Text(t) => Some(t),
        Captured::Elf(_) | Captured::Credential(_) => None,
    }
}

/// Whatever was captured of the content a final-image path shows.
pub fn final_capture<'a>(image: &'a Image, tree: &Tree, id: NodeId) -> Option<&'a Captured> {
    let inode = tree.final_state(id)?.inode?;
    let ino = &tree.inodes[inode as usize];
    image.layers.get(ino.layer as usize)?.capture(ino.entry)
}

pub fn build(image: &Image, tree: &Tree) -> Inventory {
    let mut inv = Inventory::default();
    let lookup_text = |path: &str| tree.lookup(path).and_then(|id| final_text(image, tree, id));

    inv.os = lookup_text("etc/os-release")
        .or_else(|| lookup_text("usr/lib/os-release"))
        .map(parse_os_release);

    // OS packages.
    if let Some(status) = lookup_text("var/lib/dpkg/status") {
        inv.package_manager_db = "dpkg".into();
        inv.os_packages = parse_dpkg_status(&String::from_utf8_lossy(status));
    }
    if let Some(dir) = tree.lookup("var/lib/dpkg/status.d") {
        // Distroless keeps one status paragraph per file and no dpkg.
        for &c in &tree.node(dir).children {
            if let Some(t) = final_text(image, tree, c) {
                inv.os_packages
                    .extend(parse_dpkg_status(&String::from_utf8_lossy(t)));
                inv.package_manager_db = "dpkg".into();
            }
        }
    }
    // apk's database lists files per package: keep them by package name until the list is
    // sorted, since indexes change.
    let mut apk_files: Vec<(String, String)> = Vec::new();
    if let Some(db) = lookup_text("lib/apk/db/installed") {
        inv.package_manager_db = "apk".into();
        let (pkgs, files) = parse_apk_installed(&String::from_utf8_lossy(db));
        apk_files = files
            .into_iter()
            .map(|(i, f)| (pkgs[i].name.clone(), f))
            .collect();
        inv.os_packages = pkgs;
    }
    if inv.package_manager_db.is_empty() {
        inv.package_manager_db = "none".into();
    }
    inv.os_packages.sort_by(|a, b| a.name.cmp(&b.name));
    inv.os_packages.dedup_by(|a, b| a.name == b.name);
    let index: FxHashMap<String, usize> = inv
        .os_packages
        .iter()
        .enumerate()
        .map(|(i, p)| (p.name.clone(), i))
        .collect();
    let mut listed = owners::Listed::default();
    if let Some(info) = tree.lookup("var/lib/dpkg/info") {
        for &c in &tree.node(info).children {
            let name = &*tree.node(c).name;
            let Some(pkg) = name.strip_suffix(".list") else {
                continue;
            };
            let pkg = pkg.split(':').next().unwrap_or(pkg);
            let (Some(&i), Some(text)) = (index.get(pkg), final_text(image, tree, c)) else {
                continue;
            };
            for line in String::from_utf8_lossy(text).lines() {
                let path = line.trim_start_matches('/');
                if path.is_empty() {
                    continue;
                }
                // Debian 12's lists still say /bin and /lib, which are symlinks into /usr.
                let found = tree.lookup(path).filter(|&id| tree.is_visible(id));
                let id = found.or_else(|| tree.resolve(path).filter(|&id| id != super::tree::ROOT));
                if let Some(id) = id {
                    listed.add(tree, id, i);
                }
            }
        }
    }
    for (name, path) in apk_files {
        if let (Some(&i), Some(id)) = (
            index.get(&name),
            tree.lookup(&path).filter(|&id| tree.is_visible(id)),
        ) {
            listed.add(tree, id, i);
        }
    }
    owners::settle(tree, listed, &mut inv);
    // Sizes of what each package's files really take in the final image.
    for (&id, &i) in &inv.owner {
        if let Some(e) = tree.final_state(id) {
            if e.kind != EntryKind::Dir {
                inv.os_packages[i].files += 1;
                inv.os_packages[i].file_bytes += tree.final_bytes[id as usize];
            }
        }
    }

    inv.libc = detect_libc(tree);
    inv.python_packages = python_packages(image, tree);
    inv.interpreters = interpreters(tree, &inv);
    inv.venvs = venvs(image, tree);
    inv
}

fn detect_libc(tree: &Tree) -> String {
    for dir in ["lib", "usr/lib"] {
        if let Some(id) = tree.lookup(dir) {
            for &c in &tree.node(id).children {
                if !tree.is_visible(c) {
                    continue;
                }
                let name = &*tree.node(c).name;
                if name.starts_with("ld-musl-") {
                    return "musl".into();
                }
            }
        }
    }
    for candidate in [
        "lib/x86_64-linux-gnu/libc.so.6",
        "usr/lib/x86_64-linux-gnu/libc.so.6",
        "lib/aarch64-linux-gnu/libc.so.6",
        "usr/lib/aarch64-linux-gnu/libc.so.6",
        "lib64/libc.so.6",
        "usr/lib64/libc.so.6",
        "lib/libc.so.6",
    ] {
        if tree.lookup(candidate).is_some_and(|id| tree.is_visible(id)) {
            return "glibc".into();
        }
    }
    "unknown".into()
}

fn python_packages(image: &Image, tree: &Tree) -> Vec<PythonPackage> {
    let mut out = Vec::new();
    for id in tree.final_nodes() {
        let node = tree.node(id);
        let is_dist = node.name.ends_with(".dist-info");
        let is_egg = node.name.ends_with(".egg-info");
        if !(is_dist || is_egg) {
            continue;
        }
        // Only distributions on a sys.path directory are installed; copies vendored inside
        // another package (setuptools/_vendor/wheel-*.dist-info) are not.
        let parent_name = &*tree.node(node.parent).name;
        if !(parent_name == "site-packages" || parent_name == "dist-packages") {
            continue;
        }
        let child = |name: &str| {
            node.children
                .iter()
                .copied()
                .find(|&c| &*tree.node(c).name == name)
                .filter(|&c| tree.is_visible(c))
        };
        let meta = child(if is_dist { "METADATA" } else { "PKG-INFO" })
            .and_then(|c| final_text(image, tree, c));
        let Some(meta) = meta else { continue };
        let location = tree.path(node.parent);
        let python_version = python_version_of(&location).unwrap_or("3");
        let env = MarkerEnv {
            python_version,
            machine: machine(&image.config.architecture),
        };
        let (name, version, requires) = parse_metadata(&String::from_utf8_lossy(meta), &env);
        if name.is_empty() {
            continue;
        }
        let installer = child("INSTALLER")
            .and_then(|c| final_text(image, tree, c))
            .map(|t| String::from_utf8_lossy(t).trim().to_owned())
            .unwrap_or_default();
        let wheel_tags: Vec<String> = child("WHEEL")
            .and_then(|c| final_text(image, tree, c))
            .map(|t| {
                String::from_utf8_lossy(t)
                    .lines()
                    .filter_map(|l| l.strip_prefix("Tag:").map(|v| v.trim().to_owned()))
                    .collect()
            })
            .unwrap_or_default();
        let mut pkg = PythonPackage {
            wheel_tags,
            name,
            version,
            location: location.clone(),
            installer,
            requires,
            ..Default::default()
        };
        let listing = if is_dist {
            child("RECORD")
        } else {
            child("installed-files.txt")
        };
        if let Some(text) = listing.and_then(|c| final_text(image, tree, c)) {
            let base = if is_dist {
                location.clone()
            } else {
                tree.path(id)
            };
            for line in String::from_utf8_lossy(text).lines() {
                let rel = line.split(',').next().unwrap_or("").trim();
                if rel.is_empty() {
                    continue;
                }
                let joined = if rel.starts_with('/') {
                    rel.trim_start_matches('/').to_owned()
                } else {
                    format!("{base}/{rel}")
                };
                if let Ok(Some(path)) = super::entry::normalize_path(&joined) {
                    if let Some(fid) = tree.lookup(&path).filter(|&f| tree.is_visible(f)) {
                        pkg.files += 1;
                        pkg.bytes += tree.final_bytes[fid as usize];
                        pkg.files_nodes.push(fid);
                    }
                }
            }
        }
        out.push(pkg);
    }
    out.sort_by(|a, b| {
        a.name
            .to_lowercase()
            .cmp(&b.name.to_lowercase())
            .then(a.location.cmp(&b.location))
    });
    out
}

/// `python3.12` (not `python3.12-config`, not `python3`): real interpreter binaries, with
/// symlinks resolved away.
fn interpreters(tree: &Tree, inv: &Inventory) -> Vec<Interpreter> {
    let mut out = Vec::new();
    for dir in ["usr/bin", "usr/local/bin", "bin", "opt/conda/bin"] {
        let Some(d) = tree.lookup(dir) else { continue };
        for &c in &tree.node(d).children {
            let name = &*tree.node(c).name;
            let Some(version) = name.strip_prefix("python") else {
                continue;
            };
            let is_versioned = version.split('.').count() == 2
                && version
                    .split('.')
                    .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()));
            let Some(e) = tree.final_state(c) else {
                continue;
            };
            if !is_versioned || !matches!(e.kind, EntryKind::File | EntryKind::Hardlink) {
                continue;
            }
            let path = format!("{dir}/{name}");
            let package = inv.owner.get(&c).map(|&i| inv.os_packages[i].name.clone());
            out.push(Interpreter {
                path,
                version: version.to_owned(),
                package,
            });
        }
    }
    out
}

fn venvs(image: &Image, tree: &Tree) -> Vec<Venv> {
    let mut out = Vec::new();
    for id in tree.final_nodes() {
        if &*tree.node(id).name != "pyvenv.cfg" {
            continue;
        }
        let Some(text) = final_text(image, tree, id) else {
            continue;
        };
        let mut venv = Venv {
            path: tree.path(tree.node(id).parent),
            ..Default::default()
        };
        for line in String::from_utf8_lossy(text).lines() {
            let Some((k, v)) = line.split_once('=') else {
                continue;
            };
            let v = v.trim().to_owned();
            match k.trim() {
                "home" => venv.home = v,
                "version" | "version_info" => venv.version = v,
                "include-system-site-packages" => venv.system_site_packages = v == "true",
                _ => {}
            }
        }
        out.push(venv);
    }
    out
}

impl PythonPackage {
    /// Built for glibc (manylinux) rather than musl or any platform.
    pub fn is_manylinux(&self) -> bool {
        self.wheel_tags.iter().any(|t| {
            t.contains("manylinux") || t.contains("linux_x86_64") && !t.contains("musllinux")
        })
    }
}
