//! One layer's changeset, as the OCI image spec defines it: the entries a layer tar adds or
//! replaces, and the whiteouts that delete paths of the layers below.

use serde::Serialize;

use super::content::Captured;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EntryKind {
    File,
    Dir,
    Symlink,
    Hardlink,
    CharDevice,
    BlockDevice,
    Fifo,
}

impl EntryKind {
    pub fn as_str(self) -> &'static str {
        match self {
            EntryKind::File => "file",
            EntryKind::Dir => "dir",
            EntryKind::Symlink => "symlink",
            EntryKind::Hardlink => "hardlink",
            EntryKind::CharDevice => "char_device",
            EntryKind::BlockDevice => "block_device",
            EntryKind::Fifo => "fifo",
        }
    }
}

/// A path in a layer tar. `path` is normalised: relative to the image root, no leading `/` or
/// `./`, no `.` or `..` components, no trailing slash. Bytes that are not UTF-8 are kept as
/// `\xNN` escapes so that distinct names stay distinct.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub path: String,
    pub kind: EntryKind,
    /// Bytes of content the tar carries for this entry (0 for everything but regular files).
    pub size: u64,
    pub mode: u32,
    pub uid: u64,
    pub gid: u64,
    /// Symlink target as written, or hardlink target as a normalised image path.
    pub link_target: Option<String>,
}

/// Everything one layer tar says, in tar order, with whiteouts separated out because they
/// apply to the layers below before any of this layer's own entries (OCI image spec,
/// "Whiteouts": they "MUST only apply to resources in lower/parent layers").
#[derive(Debug, Clone, Default)]
pub struct LayerChanges {
    pub entries: Vec<Entry>,
    /// Paths deleted by `.wh.NAME` files (the path of NAME, not of the marker).
    pub whiteouts: Vec<String>,
    /// Directories whose lower-layer children are hidden by `.wh..wh..opq`.
    pub opaque_dirs: Vec<String>,
    /// Size of the uncompressed tar stream.
    pub tar_bytes: u64,
    /// sha256 of the uncompressed tar stream (`sha256:…`), when it was computed.
    pub diff_id: Option<String>,
    /// Odd but survivable things found while reading (paths escaping the root, …).
    pub warnings: Vec<String>,
    /// Content read for findings and inventories, by index into `entries`.
    pub captures: Vec<(u32, Captured)>,
}

/// Prefix of a whiteout file name.
pub const WHITEOUT_PREFIX: &str = ".wh.";
/// Name of the opaque-directory marker.
pub const OPAQUE_MARKER: &str = ".wh..wh..opq";

/// Normalises a tar path to an image path. Returns `None` for the root itself and `Err` with a
/// reason when the path climbs above the root, which Docker refuses to extract.
pub fn normalize_path(raw: &str) -> Result<Option<String>, String> {
    // Nearly every tar path is `usr/lib/x`, `./usr/lib/x` or `usr/lib/`: no need to split.
    let trimmed = raw
        .trim_start_matches("./")
        .trim_start_matches('/')
        .trim_end_matches('/');
    let plain = !trimmed.is_empty()
        && !trimmed.starts_with("./")
        && !trimmed.starts_with("../")
        && trimmed != "."
        && trimmed != ".."
        && !trimmed.contains("//")
        && !trimmed.contains("/./")
        && !trimmed.contains("/../")
        && !trimmed.ends_with("/.")
        && !trimmed.ends_with("/..");
    if plain {
        return Ok(Some(trimmed.to_owned()));
    }
    let mut parts: Vec<&str> = Vec::new();
    for part in raw.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                if parts.pop().is_none() {
                    return Err(format!("path {raw:?} climbs above the image root"));
                }
            }
            p => parts.push(p),
        }
    }
    if parts.is_empty() {
        Ok(None)
    } else {
        Ok(Some(parts.join("/")))
    }
}

/// Turns raw name bytes into a string, escaping bytes that are not UTF-8 as `\xNN`.
pub fn path_from_bytes(bytes: &[u8]) -> String {
    match std::str::from_utf8(bytes) {
        Ok(s) => s.to_owned(),
        Err(_) => {
            let mut out = String::with_capacity(bytes.len() + 8);
            for chunk in bytes.utf8_chunks() {
                out.push_str(chunk.valid());
                for b in chunk.invalid() {
                    out.push_str(&format!("\\x{b:02x}"));
                }
            }
            out
        }
    }
}

/// Splits `a/b/c` into (`a/b`, `c`); a top-level name has parent `""`.
pub fn split_parent(path: &str) -> (&str, &str) {
    match path.rfind('/') {
        Some(i) => (&path[..i], &path[i + 1..]),
        None => ("", path),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalises_tar_paths() {
        assert_eq!(
            normalize_path("./usr/bin/").unwrap().as_deref(),
            Some("usr/bin")
        );
        assert_eq!(
            normalize_path("/etc//passwd").unwrap().as_deref(),
            Some("etc/passwd")
        );
        assert_eq!(
            normalize_path("a/./b/../c").unwrap().as_deref(),
            Some("a/c")
        );
        assert_eq!(normalize_path("./").unwrap(), None);
        assert_eq!(normalize_path(".//./a/").unwrap().as_deref(), Some("a"));
        assert_eq!(normalize_path("a/..").unwrap(), None);
        assert_eq!(normalize_path("/").unwrap(), None);
        assert!(normalize_path("..").is_err());
        assert!(normalize_path("../etc/passwd").is_err());
        assert!(normalize_path("a/../../b").is_err());
    }

    #[test]
    fn escapes_non_utf8_bytes_distinctly() {
        assert_eq!(path_from_bytes(b"caf\xe9"), "caf\\xe9");
        assert_ne!(path_from_bytes(b"a\xff"), path_from_bytes(b"a\xfe"));
        assert_eq!(path_from_bytes("café".as_bytes()), "café");
    }

    #[test]
    fn splits_parent_and_name() {
        assert_eq!(split_parent("usr/lib/x.so"), ("usr/lib", "x.so"));
        assert_eq!(split_parent("etc"), ("", "etc"));
    }
}
