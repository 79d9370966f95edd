//! The bytes of one cache file: a header that says which pyslim wrote it and the sha256 of
//! the body, then the body, zstd over postcard. The stored shapes are this module's own (not
//! the core's types, whose serde derives shape the JSON reports), so that changing a report
//! never changes the cache and the cache never shapes a report.

use serde::{de::DeserializeOwned, Deserialize, Serialize};
use sha2::{Digest, Sha256};

use pyslim_core::content::{is_secret_candidate, Captured, ElfInfo};
use pyslim_core::entry::{Entry, EntryKind, LayerChanges};
use pyslim_core::findings::secrets::classify;
use pyslim_core::image::Compression;

const MAGIC: &[u8; 8] = b"PYSLIMC\x01";
/// Which pyslim wrote a file: a cache written by another version is ignored (and replaced),
/// never decoded, so a change of any stored shape or of what a reader captures is safe.
pub(super) const WRITER: &str = concat!("pyslim-image ", env!("CARGO_PKG_VERSION"), " format 1");
/// zstd level: paths compress 8-10x at level 3 and decompress at memory speed.
const LEVEL: i32 = 3;

/// Why a cache file was not used.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Refused {
    /// Written by another pyslim (or not a cache file at all): ignored.
    OtherVersion,
    /// Truncated, or its body does not match its checksum: never trusted.
    Damaged,
}

/// Wraps `value` in a header and a checksum.
pub(super) fn encode<T: Serialize>(value: &T) -> Option<Vec<u8>> {
    let plain = postcard::to_stdvec(value).ok()?;
    let body = zstd::bulk::compress(&plain, LEVEL).ok()?;
    let mut out = Vec::with_capacity(body.len() + 80);
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&(WRITER.len() as u16).to_le_bytes());
    out.extend_from_slice(WRITER.as_bytes());
    out.extend_from_slice(&(plain.len() as u64).to_le_bytes());
    out.extend_from_slice(&Sha256::digest(&body));
    out.extend_from_slice(&body);
    Some(out)
}

/// Whether `head` (a file's first bytes) starts with this version's header.
pub(super) fn header_is_current(head: &[u8]) -> bool {
    let Some(rest) = head.strip_prefix(MAGIC) else {
        return false;
    };
    let Some((len, rest)) = rest.split_first_chunk::<2>() else {
        return false;
    };
    rest.get(..u16::from_le_bytes(*len) as usize) == Some(WRITER.as_bytes())
}

/// Checks the header and the checksum, then decodes.
pub(super) fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, Refused> {
    let rest = bytes.strip_prefix(MAGIC).ok_or(Refused::OtherVersion)?;
    let (len, rest) = rest.split_first_chunk::<2>().ok_or(Refused::Damaged)?;
    let len = u16::from_le_bytes(*len) as usize;
    let (writer, rest) = rest.split_at_checked(len).ok_or(Refused::Damaged)?;
    if writer != WRITER.as_bytes() {
        return Err(Refused::OtherVersion);
    }
    let (plain_len, rest) = rest.split_first_chunk::<8>().ok_or(Refused::Damaged)?;
    let (sum, body) = rest.split_first_chunk::<32>().ok_or(Refused::Damaged)?;
    if Sha256::digest(body).as_slice() != sum {
        return Err(Refused::Damaged);
    }
    let plain_len = u64::from_le_bytes(*plain_len) as usize;
    let plain = zstd::bulk::decompress(body, plain_len).map_err(|_| Refused::Damaged)?;
    postcard::from_bytes(&plain).map_err(|_| Refused::Damaged)
}

/// What one layer says, as stored: everything `LayerChanges` holds but the label-bound parts
/// made relative, and credential-like files reduced to the kind of credential they hold.
#[derive(Serialize, Deserialize)]
pub(super) struct StoredLayer {
    entries: Vec<StoredEntry>,
    whiteouts: Vec<String>,
    opaque_dirs: Vec<String>,
    tar_bytes: u64,
    /// Whether the read computed the diff_id (it is the key, so only the fact is kept).
    diff_id_read: bool,
    /// Warnings without the `"{label}: "` they began with (`None`: kept whole).
    warnings: Vec<(bool, String)>,
    captures: Vec<(u32, StoredCapture)>,
}

#[derive(Serialize, Deserialize)]
struct StoredEntry {
    path: String,
    kind: u8,
    size: u64,
    mode: u32,
    uid: u64,
    gid: u64,
    link_target: Option<String>,
}

#[derive(Serialize, Deserialize)]
enum StoredCapture {
    Text(Vec<u8>),
    Elf {
        kind: u8,
        has_symtab: bool,
        symtab_bytes: u64,
        debug_bytes: u64,
        needed: Vec<String>,
        soname: Option<String>,
        dynamic_read: bool,
    },
    Credential(String),
}

const KINDS: [EntryKind; 7] = [
    EntryKind::File,
    EntryKind::Dir,
    EntryKind::Symlink,
    EntryKind::Hardlink,
    EntryKind::CharDevice,
    EntryKind::BlockDevice,
    EntryKind::Fifo,
];
const ELF_KINDS: [&str; 4] = ["rel", "exec", "dyn", "other"];

pub(super) fn compression_code(c: Compression) -> u8 {
    match c {
        Compression::None => 0,
        Compression::Gzip => 1,
        Compression::Zstd => 2,
    }
}

pub(super) fn compression_of(code: u8) -> Option<Compression> {
    Some(match code {
        0 => Compression::None,
        1 => Compression::Gzip,
        2 => Compression::Zstd,
        _ => return None,
    })
}

impl StoredLayer {
    /// The stored form of `changes`, read under `label`. A credential-like file keeps only
    /// what the secrets detector makes of it: its kind, or nothing.
    pub(super) fn from_changes(changes: &LayerChanges, label: &str) -> Self {
        let prefix = format!("{label}: ");
        let captures = changes
            .captures
            .iter()
            .filter_map(|(index, cap)| {
                let path = &changes.entries.get(*index as usize)?.path;
                let stored = match cap {
                    Captured::Text(text) if is_secret_candidate(path) => {
                        StoredCapture::Credential(classify(path, text)?.to_owned())
                    }
                    Captured::Text(text) => StoredCapture::Text(text.clone()),
                    Captured::Credential(kind) => StoredCapture::Credential(kind.clone()),
                    Captured::Elf(info) => StoredCapture::Elf {
                        kind: ELF_KINDS.iter().position(|k| *k == info.kind).unwrap_or(3) as u8,
                        has_symtab: info.has_symtab,
                        symtab_bytes: info.symtab_bytes,
                        debug_bytes: info.debug_bytes,
                        needed: info.needed.clone(),
                        soname: info.soname.clone(),
                        dynamic_read: info.dynamic_read,
                    },
                };
                Some((*index, stored))
            })
            .collect();
        StoredLayer {
            entries: changes
                .entries
                .iter()
                .map(|e| StoredEntry {
                    path: e.path.clone(),
                    kind: KINDS.iter().position(|k| *k == e.kind).unwrap_or(0) as u8,
                    size: e.size,
                    mode: e.mode,
                    uid: e.uid,
                    gid: e.gid,
                    link_target: e.link_target.clone(),
                })
                .collect(),
            whiteouts: changes.whiteouts.clone(),
            opaque_dirs: changes.opaque_dirs.clone(),
            tar_bytes: changes.tar_bytes,
            diff_id_read: changes.diff_id.is_some(),
            warnings: changes
                .warnings
                .iter()
                .map(|w| match w.strip_prefix(&prefix) {
                    Some(rest) => (true, rest.to_owned()),
                    None => (false, w.clone()),
                })
                .collect(),
            captures,
        }
    }

    /// Back to the core's form, for a layer read under `label` with this `diff_id`.
    pub(super) fn into_changes(self, label: &str, diff_id: &str) -> Option<LayerChanges> {
        let entries = self
            .entries
            .into_iter()
            .map(|e| {
                Some(Entry {
                    path: e.path,
                    kind: *KINDS.get(e.kind as usize)?,
                    size: e.size,
                    mode: e.mode,
                    uid: e.uid,
                    gid: e.gid,
                    link_target: e.link_target,
                })
            })
            .collect::<Option<Vec<_>>>()?;
        let captures = self
            .captures
            .into_iter()
            .map(|(i, c)| {
                let cap = match c {
                    StoredCapture::Text(t) => Captured::Text(t),
                    StoredCapture::Credential(k) => Captured::Credential(k),
                    StoredCapture::Elf {
                        kind,
                        has_symtab,
                        symtab_bytes,
                        debug_bytes,
                        needed,
                        soname,
                        dynamic_read,
                    } => Captured::Elf(ElfInfo {
                        kind: ELF_KINDS.get(kind as usize)?,
                        has_symtab,
                        symtab_bytes,
                        debug_bytes,
                        needed,
                        soname,
                        dynamic_read,
                    }),
                };
                ((i as usize) < entries.len()).then_some((i, cap))
            })
            .collect::<Option<Vec<_>>>()?;
        Some(LayerChanges {
            entries,
            whiteouts: self.whiteouts,
            opaque_dirs: self.opaque_dirs,
            tar_bytes: self.tar_bytes,
            diff_id: self.diff_id_read.then(|| diff_id.to_owned()),
            warnings: self
                .warnings
                .into_iter()
                .map(
                    |(relative, w)| {
                        if relative {
                            format!("{label}: {w}")
                        } else {
                            w
                        }
                    },
                )
                .collect(),
            captures,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(path: &str, kind: EntryKind) -> Entry {
        Entry {
            path: path.into(),
            kind,
            size: if kind == EntryKind::File { 1234 } else { 0 },
            mode: 0o755,
            uid: 1000,
            gid: 1000,
            link_target: matches!(kind, EntryKind::Symlink | EntryKind::Hardlink)
                .then(|| "usr/bin/python3.11".into()),
        }
    }

    fn changes(label: &str) -> LayerChanges {
        let mut entries: Vec<Entry> = KINDS
            .iter()
            .enumerate()
            .map(|(i, k)| entry(&format!("usr/x{i}"), *k))
            .collect();
        entries.push(entry("root/.pypirc", EntryKind::File));
        entries.push(entry("etc/ssl/private/site.key", EntryKind::File));
        LayerChanges {
            entries,
            whiteouts: vec!["usr/lib/python3.11/test".into()],
            opaque_dirs: vec!["var/cache/apt".into()],
            tar_bytes: 10_240,
            diff_id: Some(format!("sha256:{}", "a".repeat(64))),
            warnings: vec![
                format!("{label}: entry ignored: path \"../x\" climbs above the image root"),
                "a warning of its own".into(),
            ],
            captures: vec![
                (
                    0,
                    Captured::Text(b"Metadata-Version: 2.1\nName: six\n".to_vec()),
                ),
                (
                    1,
                    Captured::Elf(ElfInfo {
                        kind: "dyn",
                        has_symtab: true,
                        symtab_bytes: 4096,
                        debug_bytes: 8192,
                        needed: vec!["libc.so.6".into()],
                        soname: Some("libx.so.1".into()),
                        dynamic_read: true,
                    }),
                ),
                (
                    7,
                    Captured::Text(b"[pypi]\npassword = s3cret-value\n".to_vec()),
                ),
                // A candidate name with nothing credential-like in it: nothing is kept.
                (8, Captured::Text(b"just text\n".to_vec())),
            ],
        }
    }

    #[test]
    fn a_layer_comes_back_as_it_went_in_but_for_credentials_and_its_label() {
        let diff_id = format!("sha256:{}", "a".repeat(64));
        let before = changes("archive.tar: 1/layer.tar");
        let bytes = encode(&StoredLayer::from_changes(
            &before,
            "archive.tar: 1/layer.tar",
        ))
        .unwrap();
        let stored: StoredLayer = decode(&bytes).unwrap();
        let after = stored
            .into_changes("oci: blobs/sha256/b", &diff_id)
            .unwrap();
        assert_eq!(after.entries, before.entries);
        assert_eq!(after.whiteouts, before.whiteouts);
        assert_eq!(after.opaque_dirs, before.opaque_dirs);
        assert_eq!(after.tar_bytes, before.tar_bytes);
        assert_eq!(after.diff_id, before.diff_id);
        // The label is the reader's of now, not the one that stored the layer.
        assert_eq!(
            after.warnings,
            vec![
                "oci: blobs/sha256/b: entry ignored: path \"../x\" climbs above the image root"
                    .to_owned(),
                "a warning of its own".to_owned()
            ]
        );
        assert_eq!(after.captures[..2], before.captures[..2]);
        assert_eq!(
            after.captures[2],
            (7, Captured::Credential("PyPI credentials".into()))
        );
        assert_eq!(after.captures.len(), 3);
        // The credential's bytes are nowhere in the stored body.
        let plain = postcard::to_stdvec(&StoredLayer::from_changes(&before, "x")).unwrap();
        assert!(!plain.windows(12).any(|w| w == b"s3cret-value"));
    }

    #[test]
    fn damage_and_other_versions_are_told_apart() {
        let bytes = encode(&"sha256:x".to_owned()).unwrap();
        assert_eq!(decode::<String>(&bytes).unwrap(), "sha256:x");
        let mut flipped = bytes.clone();
        let last = flipped.len() - 1;
        flipped[last] ^= 1;
        assert_eq!(decode::<String>(&flipped), Err(Refused::Damaged));
        assert_eq!(
            decode::<String>(&bytes[..bytes.len() - 3]),
            Err(Refused::Damaged)
        );
        assert_eq!(decode::<String>(&bytes[..20]), Err(Refused::Damaged));
        let other = String::from_utf8_lossy(&bytes)
            .replace("format 1", "format 2")
            .into_bytes();
        assert_eq!(decode::<String>(&other), Err(Refused::OtherVersion));
        assert_eq!(
            decode::<String>(b"not a cache file"),
            Err(Refused::OtherVersion)
        );
        assert!(header_is_current(&bytes[..64]));
        assert!(!header_is_current(&other[..64]));
    }
}
