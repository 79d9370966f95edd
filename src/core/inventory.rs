//! What is installed in the final image: OS packages (dpkg, apk) with the files each brought,
//! Python distributions (from `.dist-info` and `.egg-info`), interpreters, venvs, the OS and
//! its libc. Read from captured metadata of the paths the final image shows.

use std::collections::BTreeMap;

use rustc_hash::FxHashMap;
use serde::Serialize;

use super::content::Captured;
use super::entry::EntryKind;
use super::image::Image;
use super::markers::{applies, MarkerEnv};
use super::tree::{NodeId, Tree};

#[derive(Debug, Clone, Default, Serialize, PartialEq)]
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
    /// Final-image path → index into `os_packages` of the package that installed it.
    #[serde(skip)]
    pub owner: FxHashMap<NodeId, usize>,
}

#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct OsRelease {
    pub id: String,
    pub version_id: String,
    pub pretty_name: String,
}

#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct OsPackage {
    pub name: String,
    pub version: String,
    /// What the package database says it occupies.
    pub installed_bytes: u64,
    /// Bytes of its files the final image really shows (0 when no file list is available).
    pub file_bytes: u64,
    pub files: u64,
}

#[derive(Debug, Clone, Default, Serialize, PartialEq)]
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
pub struct Interpreter {
    /// The executable, e.g. `usr/local/bin/python3.12`.
    pub path: String,
    /// `3.12`.
    pub version: String,
    /// The OS package that installed it (`python3.11-minimal`), when one did.
    pub package: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize, PartialEq)]
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
        Captured::Elf(_) => None,
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
                    inv.owner.entry(id).or_insert(i);
                }
            }
        }
    }
    for (name, path) in apk_files {
        if let (Some(&i), Some(id)) = (
            index.get(&name),
            tree.lookup(&path).filter(|&id| tree.is_visible(id)),
        ) {
            inv.owner.entry(id).or_insert(i);
        }
    }
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

fn parse_os_release(text: &[u8]) -> OsRelease {
    let mut os = OsRelease::default();
    for line in String::from_utf8_lossy(text).lines() {
        let Some((k, v)) = line.split_once('=') else {
            continue;
        };
        let v = v.trim().trim_matches('"').to_owned();
        match k.trim() {
            "ID" => os.id = v,
            "VERSION_ID" => os.version_id = v,
            "PRETTY_NAME" => os.pretty_name = v,
            _ => {}
        }
    }
    os
}

/// Parses dpkg's status file: one paragraph per package; only installed ones count.
pub fn parse_dpkg_status(text: &str) -> Vec<OsPackage> {
    let mut out = Vec::new();
    for para in text.split("\n\n") {
        let mut fields: BTreeMap<&str, &str> = BTreeMap::new();
        for line in para.lines() {
            if line.starts_with(' ') || line.starts_with('\t') {
                continue;
            }
            if let Some((k, v)) = line.split_once(':') {
                fields.insert(k.trim(), v.trim());
            }
        }
        let Some(name) = fields.get("Package") else {
            continue;
        };
        let installed = fields
            .get("Status")
            .is_none_or(|s| s.ends_with(" installed"));
        if !installed {
            continue;
        }
        out.push(OsPackage {
            name: (*name).to_owned(),
            version: fields.get("Version").copied().unwrap_or("").to_owned(),
            installed_bytes: fields
                .get("Installed-Size")
                .and_then(|s| s.parse::<u64>().ok())
                .map(|kib| kib * 1024)
                .unwrap_or(0),
            ..Default::default()
        });
    }
    out
}

/// Parses apk's installed database: `P:` name, `V:` version, `I:` size, `F:` dir, `R:` file.
pub fn parse_apk_installed(text: &str) -> (Vec<OsPackage>, Vec<(usize, String)>) {
    let mut pkgs = Vec::new();
    let mut files = Vec::new();
    for para in text.split("\n\n") {
        let mut pkg = OsPackage::default();
        let mut dir = String::new();
        let mut mine = Vec::new();
        for line in para.lines() {
            let Some((k, v)) = line.split_once(':') else {
                continue;
            };
            match k {
                "P" => pkg.name = v.to_owned(),
                "V" => pkg.version = v.to_owned(),
                "I" => pkg.installed_bytes = v.parse().unwrap_or(0),
                "F" => dir = v.to_owned(),
                "R" => mine.push(if dir.is_empty() {
                    v.to_owned()
                } else {
                    format!("{dir}/{v}")
                }),
                _ => {}
            }
        }
        if !pkg.name.is_empty() {
            let i = pkgs.len();
            files.extend(mine.into_iter().map(|f| (i, f)));
            pkgs.push(pkg);
        }
    }
    (pkgs, files)
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

/// Reads the `Key: value` header of METADATA / PKG-INFO (it ends at the first blank line).
fn parse_metadata(text: &str, env: &MarkerEnv) -> (String, String, Vec<String>) {
    let (mut name, mut version, mut requires) = (String::new(), String::new(), Vec::new());
    for line in text.lines() {
        if line.is_empty() {
            break;
        }
        let Some((k, v)) = line.split_once(':') else {
            continue;
        };
        let v = v.trim();
        match k {
            "Name" => name = v.to_owned(),
            "Version" => version = v.to_owned(),
            "Requires-Dist" => {
                // `pkg (>=1) ; python_version < "3.10"`: only requirements that apply here.
                if let Some((_, marker)) = v.split_once(';') {
                    if !applies(marker, env) {
                        continue;
                    }
                }
                let end = v
                    .find(|c: char| {
                        !(c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.')
                    })
                    .unwrap_or(v.len());
                if end > 0 {
                    requires.push(normalize_dist_name(&v[..end]));
                }
            }
            _ => {}
        }
    }
    (name, version, requires)
}

/// `3.11` from `…/lib/python3.11/site-packages`; Debian's `dist-packages` under
/// `lib/python3/` says nothing more than 3.
fn python_version_of(location: &str) -> Option<&str> {
    location
        .split('/')
        .find_map(|part| part.strip_prefix("python").filter(|v| v.starts_with('3')))
}

/// The `platform_machine` of an OCI architecture.
fn machine(arch: &str) -> &'static str {
    match arch {
        "arm64" => "aarch64",
        "arm" => "armv7l",
        "386" => "i686",
        "ppc64le" => "ppc64le",
        "s390x" => "s390x",
        _ => "x86_64",
    }
}

/// PEP 503 normalisation: lower-case, runs of `-_.` become `-`.
pub fn normalize_dist_name(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut dash = false;
    for c in name.chars() {
        if matches!(c, '-' | '_' | '.') {
            dash = true;
        } else {
            if dash && !out.is_empty() {
                out.push('-');
            }
            dash = false;
            out.push(c.to_ascii_lowercase());
        }
    }
    out
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dpkg_status_keeps_installed_packages_only() {
        let text = "Package: gcc-12\nStatus: install ok installed\nInstalled-Size: 70000\nVersion: 12.2.0-14\nDescription: GNU C\n multi-line\n\nPackage: old\nStatus: deinstall ok config-files\nVersion: 1\n";
        let pkgs = parse_dpkg_status(text);
        assert_eq!(pkgs.len(), 1);
        assert_eq!(
            (pkgs[0].name.as_str(), pkgs[0].installed_bytes),
            ("gcc-12", 70000 * 1024)
        );
    }

    #[test]
    fn apk_database_lists_files_per_package() {
        let text = "P:musl\nV:1.2.4-r2\nI:622592\nF:lib\nR:ld-musl-x86_64.so.1\nR:libc.musl-x86_64.so.1\n\nP:busybox\nV:1.36\nF:bin\nR:busybox\n";
        let (pkgs, files) = parse_apk_installed(text);
        assert_eq!(pkgs.len(), 2);
        assert!(files.contains(&(0, "lib/ld-musl-x86_64.so.1".into())));
        assert!(files.contains(&(1, "bin/busybox".into())));
    }

    #[test]
    fn metadata_reads_name_version_and_hard_requirements() {
        let text = "Metadata-Version: 2.1\nName: Flask\nVersion: 3.0.3\nRequires-Dist: Werkzeug>=3.0.0\nRequires-Dist: click (>=8.1.3)\nRequires-Dist: asgiref>=3.2 ; extra == \"async\"\n\nbody: not a header";
        let env = MarkerEnv {
            python_version: "3.11",
            machine: "x86_64",
        };
        let (name, version, req) = parse_metadata(text, &env);
        assert_eq!((name.as_str(), version.as_str()), ("Flask", "3.0.3"));
        assert_eq!(req, vec!["werkzeug", "click"]);
        assert_eq!(
            normalize_dist_name("Typing_Extensions"),
            "typing-extensions"
        );
    }
}

impl PythonPackage {
    /// Built for glibc (manylinux) rather than musl or any platform.
    pub fn is_manylinux(&self) -> bool {
        self.wheel_tags.iter().any(|t| t.contains("manylinux") || t.contains("linux_x86_64") && !t.contains("musllinux"))
    }
}
