//! What to write: the description of an image (its layers, their entries, the config
//! fields, empty history steps) and the on-disk format to write it in.

use std::collections::BTreeMap;

use pyslim_core::image::Compression;

/// Content of a generated file: never stored, produced on demand.
#[derive(Debug, Clone, PartialEq)]
pub enum Content {
    /// `size` bytes of a repeating pattern derived from the seed (compresses like text).
    Pattern {
        size: u64,
        seed: u64,
    },
    /// `size` bytes of pseudo-random data (does not compress).
    Noise {
        size: u64,
        seed: u64,
    },
    Bytes(Vec<u8>),
}

impl Content {
    pub fn len(&self) -> u64 {
        match self {
            Content::Pattern { size, .. } | Content::Noise { size, .. } => *size,
            Content::Bytes(b) => b.len() as u64,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub(super) fn write_to(&self, out: &mut Vec<u8>) {
        match self {
            Content::Bytes(b) => out.extend_from_slice(b),
            Content::Pattern { size, seed } => {
                let line = format!("# generated line {seed} of pyslim fixture content\n");
                let mut left = *size as usize;
                while left > 0 {
                    let n = left.min(line.len());
                    out.extend_from_slice(&line.as_bytes()[..n]);
                    left -= n;
                }
            }
            Content::Noise { size, seed } => {
                let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
                let mut left = *size as usize;
                while left > 0 {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    let bytes = x.to_le_bytes();
                    let n = left.min(8);
                    out.extend_from_slice(&bytes[..n]);
                    left -= n;
                }
            }
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum SpecKind {
    File(Content),
    Dir,
    Symlink(String),
    Hardlink(String),
    Fifo,
    CharDevice,
    /// `.wh.NAME` for the entry's path.
    Whiteout,
    /// `.wh..wh..opq` inside the entry's path.
    Opaque,
}

/// One tar entry. `path` is raw bytes so tests can write hostile names (`../x`, non-UTF-8).
#[derive(Debug, Clone, PartialEq)]
pub struct SpecEntry {
    pub path: Vec<u8>,
    pub kind: SpecKind,
    pub mode: u32,
}

impl SpecEntry {
    pub fn new(path: &str, kind: SpecKind) -> Self {
        let mode = match kind {
            SpecKind::Dir => 0o755,
            _ => 0o644,
        };
        SpecEntry {
            path: path.as_bytes().to_vec(),
            kind,
            mode,
        }
    }
    pub fn file(path: &str, size: u64) -> Self {
        Self::new(path, SpecKind::File(Content::Pattern { size, seed: size }))
    }
    pub fn text(path: &str, text: &str) -> Self {
        Self::new(
            path,
            SpecKind::File(Content::Bytes(text.as_bytes().to_vec())),
        )
    }
    pub fn dir(path: &str) -> Self {
        Self::new(path, SpecKind::Dir)
    }
    pub fn symlink(path: &str, target: &str) -> Self {
        Self::new(path, SpecKind::Symlink(target.into()))
    }
    pub fn hardlink(path: &str, target: &str) -> Self {
        Self::new(path, SpecKind::Hardlink(target.into()))
    }
    pub fn whiteout(path: &str) -> Self {
        Self::new(path, SpecKind::Whiteout)
    }
    pub fn opaque(dir: &str) -> Self {
        Self::new(dir, SpecKind::Opaque)
    }
    pub fn with_mode(mut self, mode: u32) -> Self {
        self.mode = mode;
        self
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct LayerSpec {
    pub created_by: String,
    pub entries: Vec<SpecEntry>,
    /// How the blob is stored in OCI layouts (docker-archives store tars as they are).
    pub compression: Compression,
}

impl LayerSpec {
    pub fn new(created_by: &str, entries: Vec<SpecEntry>) -> Self {
        LayerSpec {
            created_by: created_by.into(),
            entries,
            compression: Compression::None,
        }
    }
}

/// A history entry that made no layer (ENV, CMD, …), placed before layer `before_layer`.
#[derive(Debug, Clone, PartialEq)]
pub struct EmptyStep {
    pub before_layer: usize,
    pub created_by: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ImageSpec {
    pub tag: String,
    pub layers: Vec<LayerSpec>,
    pub empty_steps: Vec<EmptyStep>,
    pub user: String,
    pub env: Vec<String>,
    pub cmd: Vec<String>,
    pub entrypoint: Vec<String>,
    pub workdir: String,
    pub labels: BTreeMap<String, String>,
    pub architecture: String,
}

impl ImageSpec {
    pub fn new(tag: &str, layers: Vec<LayerSpec>) -> Self {
        ImageSpec {
            tag: tag.into(),
            layers,
            empty_steps: Vec::new(),
            user: String::new(),
            env: vec!["PATH=/usr/local/bin:/usr/local/sbin:/usr/sbin:/usr/bin:/sbin:/bin".into()],
            cmd: Vec::new(),
            entrypoint: Vec::new(),
            workdir: String::new(),
            labels: BTreeMap::new(),
            architecture: "amd64".into(),
        }
    }
}

/// The on-disk shape to write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArchiveFormat {
    /// `docker save` before Docker 25: `<id>/layer.tar`, `<id>.json`, manifest.json.
    DockerLegacy,
    /// `docker save` from Docker 25 on: an OCI layout plus manifest.json, empty layers as the
    /// shared gzip empty-layer blob.
    DockerOci,
    /// A plain OCI image layout (index.json, blobs/), layers stored as each spec says.
    OciLayout,
}
