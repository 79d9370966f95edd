//! The reference: extracts layer tars onto disk the way Docker does and reads the result back.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::io::Read;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
// ---------------------------------------------------------------------------------------------
// What a tree looks like, from either side.

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Kind {
    Dir,
    File,
    Symlink,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Obs {
    pub kind: Kind,
    /// Regular files only; 0 otherwise.
    pub size: u64,
    /// Symlinks only.
    pub target: Option<String>,
}

pub type View = BTreeMap<String, Obs>;

pub struct Extracted {
    pub view: View,
    /// Bytes of regular files, each inode once.
    pub bytes: u64,
    pub files: u64,
    pub dirs: u64,
    /// Per layer: bytes of the regular files it wrote whose inode no path of the final tree
    /// shows (overwritten or deleted later, or written twice in the layer).
    pub layer_wasted: Vec<u64>,
    /// Per directory ("" for the root): the bytes of files below it, as bounds, because a
    /// hardlinked inode with paths inside and outside the directory may be charged to either.
    /// (inodes with every path below it, inodes with any path below it).
    pub dir_bytes: BTreeMap<String, (u64, u64)>,
    /// Permission bits (with setuid, setgid and sticky) of every file and directory.
    pub modes: BTreeMap<String, u32>,
    /// inode -> (size, every visible path of it), for `dir_bytes`.
    links: BTreeMap<u64, (u64, Vec<String>)>,
}

/// Why a case was not checked or did not pass.
#[derive(Debug)]
pub enum Fail {
    /// The stack is outside the oracle's domain (see the module comment).
    Domain(String),
    /// pyslim disagrees with the reference (or with itself across formats).
    Mismatch(String),
}

// ---------------------------------------------------------------------------------------------
// The reference: extract onto disk.

pub struct RawEntry {
    /// Normalised, relative, `""` for the root.
    pub path: String,
    pub ty: tar::EntryType,
    /// Permission bits (with setuid, setgid and sticky) from the header.
    pub mode: u32,
    pub link: String,
    pub data: Vec<u8>,
}

pub fn normalize(raw: &str) -> Result<String, String> {
    let mut parts = Vec::new();
    for p in raw.split('/') {
        match p {
            "" | "." => {}
            ".." => return Err(format!("path {raw:?} has `..`")),
            p => parts.push(p),
        }
    }
    Ok(parts.join("/"))
}

pub fn split_parent(p: &str) -> (&str, &str) {
    match p.rfind('/') {
        Some(i) => (&p[..i], &p[i + 1..]),
        None => ("", p),
    }
}

pub fn join(dir: &str, name: &str) -> String {
    if dir.is_empty() {
        name.to_owned()
    } else {
        format!("{dir}/{name}")
    }
}

/// `p` is `zone` or below it.
pub fn at_or_under(p: &str, zone: &str) -> bool {
    zone.is_empty() || p == zone || p.starts_with(&format!("{zone}/"))
}

/// `p` is strictly below `dir`.
pub fn strictly_under(p: &str, dir: &str) -> bool {
    if dir.is_empty() {
        !p.is_empty()
    } else {
        p.starts_with(&format!("{dir}/"))
    }
}

pub fn parse_layer(tar_bytes: &[u8]) -> Vec<RawEntry> {
    let mut archive = tar::Archive::new(tar_bytes);
    let mut out = Vec::new();
    for entry in archive.entries().expect("layer tar readable") {
        let mut entry = entry.expect("layer tar entry readable");
        let raw = String::from_utf8(entry.path_bytes().into_owned()).expect("utf-8 path");
        let path = normalize(&raw).expect("no `..` in generated paths");
        let ty = entry.header().entry_type();
        let mode = entry.header().mode().expect("entry mode");
        let link = entry
            .link_name_bytes()
            .map(|b| String::from_utf8(b.into_owned()).expect("utf-8 link"))
            .unwrap_or_default();
        let mut data = Vec::new();
        entry.read_to_end(&mut data).expect("entry data");
        out.push(RawEntry {
            path,
            ty,
            mode,
            link,
            data,
        });
    }
    out
}

/// Every existing component of `dir` (and `dir` itself) must be a real directory; components
/// may be missing from some point on. Returns whether `dir` exists.
pub fn check_dir_chain(root: &Path, dir: &str) -> Result<bool, String> {
    if dir.is_empty() {
        return Ok(true);
    }
    let mut cur = String::new();
    for part in dir.split('/') {
        cur = join(&cur, part);
        match fs::symlink_metadata(root.join(&cur)) {
            Ok(m) if m.is_dir() => {}
            Ok(_) => {
                return Err(format!(
                    "{cur} is not a directory but {dir} needs it to be one"
                ))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(false),
            Err(e) => panic!("lstat {cur}: {e}"),
        }
    }
    Ok(true)
}

pub fn remove_any(p: &Path) {
    let m = fs::symlink_metadata(p).expect("exists");
    if m.is_dir() {
        fs::remove_dir_all(p).expect("remove dir");
    } else {
        fs::remove_file(p).expect("remove file");
    }
}

pub fn exists(p: &Path) -> bool {
    fs::symlink_metadata(p).is_ok()
}

#[derive(Clone, Copy)]
pub struct RefOptions {
    /// Apply a whiteout whose directory does not exist the way Docker and containerd do:
    /// create the directory. Off, such a whiteout is outside the domain.
    pub docker_whiteout_parents: bool,
}

pub const DEFAULT_REF: RefOptions = RefOptions {
    docker_whiteout_parents: true,
};

pub fn apply_layer(root: &Path, entries: &[RawEntry], opts: RefOptions) -> Result<(), String> {
    apply_layer_pinned(root, entries, opts).map(|_| ())
}

/// A regular file a layer wrote, held open so its inode number cannot be reused while the
/// rest of the stack is extracted: whether that inode is still visible at the end tells
/// whether the layer's bytes were wasted.
pub struct Written {
    pub file: fs::File,
    pub size: u64,
    pub path: String,
}

/// Applies a layer and returns every regular file it wrote, open.
pub fn apply_layer_pinned(
    root: &Path,
    entries: &[RawEntry],
    opts: RefOptions,
) -> Result<Vec<Written>, String> {
    let mut written = Vec::new();
    let is_marker = |e: &RawEntry| split_parent(&e.path).1.starts_with(".wh.");
    // Markers whose outcome would depend on their order in the tar are outside the domain.
    let markers: Vec<(&str, String, bool)> = entries
        .iter()
        .filter(|e| is_marker(e))
        .filter_map(|e| {
            let (dir, name) = split_parent(&e.path);
            if name == ".wh..wh..opq" {
                Some((dir, dir.to_owned(), true))
            } else if name.starts_with(".wh..wh.") {
                None
            } else {
                Some((dir, join(dir, &name[4..]), false))
            }
        })
        .collect();
    for (i, (dir_i, _, _)) in markers.iter().enumerate() {
        for (j, (_, zone_j, opaque_j)) in markers.iter().enumerate() {
            let hit = if *opaque_j {
                strictly_under(dir_i, zone_j)
            } else {
                at_or_under(dir_i, zone_j)
            };
            if i != j && hit {
                return Err(format!(
                    "marker in {dir_i:?} lies in what another marker removes ({zone_j:?})"
                ));
            }
        }
    }
    // Pass 1: whiteouts and opaque markers, against the lower layers only.
    for e in entries.iter().filter(|e| is_marker(e)) {
        let (dir, name) = split_parent(&e.path);
        if name.starts_with(".wh..wh.") && name != ".wh..wh..opq" {
            continue; // AUFS bookkeeping
        }
        if !check_dir_chain(root, dir)? {
            if name != ".wh..wh..opq" && !opts.docker_whiteout_parents {
                return Err(format!(
                    "whiteout {} inside missing directory {dir:?}",
                    e.path
                ));
            }
            fs::create_dir_all(root.join(dir)).expect("mkdir -p");
        }
        if name == ".wh..wh..opq" {
            for child in fs::read_dir(root.join(dir)).expect("read_dir") {
                remove_any(&child.expect("dirent").path());
            }
        } else {
            let target = root.join(join(dir, &name[4..]));
            if exists(&target) {
                remove_any(&target);
            }
        }
    }
    // Pass 2: the layer's own entries, in order.
    for e in entries.iter().filter(|e| !is_marker(e)) {
        if e.path.is_empty() {
            continue;
        }
        let (parent, _) = split_parent(&e.path);
        if !check_dir_chain(root, parent)? {
            fs::create_dir_all(root.join(parent)).expect("mkdir -p");
        }
        let full = root.join(&e.path);
        if let Ok(m) = fs::symlink_metadata(&full) {
            if !(m.is_dir() && e.ty == tar::EntryType::Directory) {
                remove_any(&full);
            }
        }
        match e.ty {
            tar::EntryType::Directory => {
                if !exists(&full) {
                    fs::create_dir(&full).expect("mkdir");
                }
                set_mode(&full, e.mode);
            }
            tar::EntryType::Regular => {
                fs::write(&full, &e.data).expect("write");
                set_mode(&full, e.mode);
                written.push(Written {
                    file: fs::File::open(&full).expect("open what was written"),
                    size: e.data.len() as u64,
                    path: e.path.clone(),
                });
            }
            tar::EntryType::Symlink => std::os::unix::fs::symlink(&e.link, &full).expect("symlink"),
            tar::EntryType::Link => {
                let t = normalize(&e.link)?;
                check_dir_chain(root, split_parent(&t).0)?;
                let target = root.join(&t);
                match fs::symlink_metadata(&target) {
                    Ok(m) if m.is_file() => fs::hard_link(&target, &full).expect("link"),
                    _ => {
                        return Err(format!(
                            "hardlink {} to {t}, which is not a regular file",
                            e.path
                        ))
                    }
                }
            }
            other => return Err(format!("entry type {other:?} not modelled")),
        }
    }
    Ok(written)
}

/// The header's mode, set as Docker's extractor sets it (a read-only directory in a layer
/// needs root to extract the layers above it, as with Docker).
fn set_mode(p: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(p, fs::Permissions::from_mode(mode & 0o7777)).expect("chmod");
}

pub fn walk(root: &Path) -> Extracted {
    let mut out = Extracted {
        view: View::new(),
        bytes: 0,
        files: 0,
        dirs: 0,
        layer_wasted: Vec::new(),
        dir_bytes: BTreeMap::new(),
        modes: BTreeMap::new(),
        links: BTreeMap::new(),
    };
    let mut inodes = BTreeSet::new();
    let mut stack: Vec<(PathBuf, String)> = vec![(root.to_path_buf(), String::new())];
    while let Some((dir, rel)) = stack.pop() {
        for child in fs::read_dir(&dir).expect("read_dir") {
            let child = child.expect("dirent");
            let name = child.file_name().into_string().expect("utf-8 name");
            let path = join(&rel, &name);
            let m = fs::symlink_metadata(child.path()).expect("lstat");
            let obs = if m.is_dir() {
                out.dirs += 1;
                stack.push((child.path(), path.clone()));
                Obs {
                    kind: Kind::Dir,
                    size: 0,
                    target: None,
                }
            } else if m.file_type().is_symlink() {
                out.files += 1;
                let t = fs::read_link(child.path()).expect("readlink");
                Obs {
                    kind: Kind::Symlink,
                    size: 0,
                    target: Some(t.into_os_string().into_string().expect("utf-8 target")),
                }
            } else {
                assert!(m.is_file(), "{path}: unexpected file type");
                out.files += 1;
                if inodes.insert(m.ino()) {
                    out.bytes += m.len();
                }
                out.links
                    .entry(m.ino())
                    .or_insert_with(|| (m.len(), Vec::new()))
                    .1
                    .push(path.clone());
                Obs {
                    kind: Kind::File,
                    size: m.len(),
                    target: None,
                }
            };
            if obs.kind != Kind::Symlink {
                out.modes.insert(path.clone(), m.mode() & 0o7777);
            }
            out.view.insert(path, obs);
        }
    }
    out
}

/// Fills `dir_bytes` (quadratic: every directory against every inode).
fn fill_dir_bytes(out: &mut Extracted) {
    let dirs = std::iter::once(String::new()).chain(
        out.view
            .iter()
            .filter(|(_, o)| o.kind == Kind::Dir)
            .map(|(p, _)| p.clone()),
    );
    let under = |p: &str, dir: &str| dir.is_empty() || strictly_under(p, dir);
    for dir in dirs.collect::<Vec<_>>() {
        let (mut all_in, mut any_in) = (0, 0);
        for (size, paths) in out.links.values() {
            if paths.iter().all(|p| under(p, &dir)) {
                all_in += size;
            }
            if paths.iter().any(|p| under(p, &dir)) {
                any_in += size;
            }
        }
        out.dir_bytes.insert(dir, (all_in, any_in));
    }
}

/// Extracts `tars` in order into a fresh directory and reads the result back.
pub fn reference(tars: &[Vec<u8>], opts: RefOptions) -> Result<Extracted, String> {
    let tmp = tempfile::tempdir().expect("tempdir");
    let root = tmp.path().join("root");
    fs::create_dir(&root).expect("mkdir root");
    let mut pinned = Vec::new();
    for (i, t) in tars.iter().enumerate() {
        pinned.push(
            apply_layer_pinned(&root, &parse_layer(t), opts)
                .map_err(|e| format!("layer {i}: {e}"))?,
        );
    }
    let mut out = walk(&root);
    fill_dir_bytes(&mut out);
    let visible = visible_inodes(&root);
    out.layer_wasted = pinned
        .iter()
        .map(|files| {
            files
                .iter()
                .filter(|w| {
                    let ino = w.file.metadata().expect("fstat").ino();
                    !visible.contains(&ino)
                })
                .map(|w| w.size)
                .sum()
        })
        .collect();
    Ok(out)
}

/// Inodes of the regular files under `root`.
pub fn visible_inodes(root: &Path) -> BTreeSet<u64> {
    let mut seen = BTreeSet::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for child in fs::read_dir(&dir).expect("read_dir") {
            let child = child.expect("dirent").path();
            let m = fs::symlink_metadata(&child).expect("lstat");
            if m.is_dir() {
                stack.push(child);
            } else if m.is_file() {
                seen.insert(m.ino());
            }
        }
    }
    seen
}
