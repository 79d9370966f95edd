//! Random access to the members of an image container: a tar file on disk (indexed once by
//! reading its headers), a directory (an OCI layout), or members collected from a stream.
//! The format readers (docker_archive, oci_layout) resolve manifests through this interface
//! and never care which one they have.

use std::collections::HashMap;
use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use pyslim_core::entry::{normalize_path, path_from_bytes};
use pyslim_core::error::{Error, Result};
use pyslim_core::image::Compression;

use super::layer_tar::{read_layer_seekable, LayerRead, ReadOptions};

mod cached;
mod stream;

pub use self::cached::CachedStore;
pub use self::stream::StreamStore;

pub trait BlobStore: Sync {
    /// What the user named, for messages.
    fn input(&self) -> &str;
    fn contains(&self, member: &str) -> bool;
    /// Reads a small member (JSON) whole, refusing more than `limit` bytes.
    fn read_json(&self, member: &str, limit: u64) -> Result<Vec<u8>>;
    /// Reads a layer blob into its changeset.
    fn read_layer(
        &self,
        member: &str,
        opts: &ReadOptions,
        hash_compressed: bool,
    ) -> Result<LayerRead>;
    /// How a layer blob is stored, from its first bytes and its length, for stores that read
    /// a layer when asked: a layer another image shares may be taken from the cache only
    /// when it is stored alike, so that reading it here would give the same result. `None`
    /// for stores that parsed their layers already (a stream), or when the member is not
    /// at hand (reading it then says why).
    fn stored(&self, _member: &str) -> Option<Stored> {
        None
    }
    /// The stored bytes of a member, for rewriting it. Stores that keep only what they
    /// parsed (a stream read once) cannot give them.
    fn open_member(&self, member: &str) -> Result<Box<dyn Read + Send + '_>> {
        Err(Error::unsupported(
            self.input(),
            format!("cannot read {member} again from a stream; decompress the archive first"),
        ))
    }
}

/// How a layer blob is stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stored {
    pub compression: Compression,
    pub bytes: u64,
}

fn sniff_stored<R: Read>(mut blob: R, bytes: u64) -> Option<Stored> {
    let mut head = [0u8; 4];
    let n = super::layer_io::read_up_to(&mut blob, &mut head).ok()?;
    Some(Stored {
        compression: super::layer_tar::sniff_compression(&head[..n]),
        bytes,
    })
}

/// Checks a member name taken from a manifest: relative, inside the container.
pub fn member_path(input: &str, raw: &str) -> Result<String> {
    if raw.starts_with('/') {
        return Err(Error::corrupt(
            input,
            format!("manifest names {raw:?}, a path outside the archive"),
        ));
    }
    match normalize_path(raw) {
        Ok(Some(p)) => Ok(p),
        Ok(None) => Err(Error::corrupt(
            input,
            format!("manifest names an empty path {raw:?}"),
        )),
        Err(_) => Err(Error::corrupt(
            input,
            format!("manifest names {raw:?}, a path outside the archive"),
        )),
    }
}

fn missing(input: &str, member: &str) -> Error {
    Error::corrupt(
        input,
        format!("manifest names {member:?}, which is not in the archive"),
    )
}

/// A window onto part of a file, with its own cursor, so layers of one tar can be read in
/// parallel through separate handles. Seeking past the end is an error: a layer that claims
/// more data than its member holds is truncated, not short.
pub struct FileSlice {
    file: File,
    start: u64,
    len: u64,
    pos: u64,
}

impl FileSlice {
    pub fn new(mut file: File, start: u64, len: u64) -> io::Result<Self> {
        file.seek(SeekFrom::Start(start))?;
        Ok(FileSlice {
            file,
            start,
            len,
            pos: 0,
        })
    }
}

impl Read for FileSlice {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let left = self.len - self.pos;
        if left == 0 {
            return Ok(0);
        }
        let want = buf.len().min(left as usize);
        let n = self.file.read(&mut buf[..want])?;
        if n == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "unexpected EOF",
            ));
        }
        self.pos += n as u64;
        Ok(n)
    }
}

impl Seek for FileSlice {
    fn seek(&mut self, to: SeekFrom) -> io::Result<u64> {
        let target = match to {
            SeekFrom::Start(n) => n as i128,
            SeekFrom::End(n) => self.len as i128 + n as i128,
            SeekFrom::Current(n) => self.pos as i128 + n as i128,
        };
        if target < 0 || target > self.len as i128 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "unexpected EOF",
            ));
        }
        self.pos = target as u64;
        self.file.seek(SeekFrom::Start(self.start + self.pos))?;
        Ok(self.pos)
    }
}

/// A tar file on disk, indexed by one pass over its headers.
pub struct TarFileStore {
    input: String,
    path: PathBuf,
    members: HashMap<String, (u64, u64)>,
}

impl TarFileStore {
    pub fn open(path: &Path) -> Result<Self> {
        let input = path.display().to_string();
        let file = File::open(path).map_err(|e| Error::io(path, e))?;
        let mut archive = tar::Archive::new(io::BufReader::new(file));
        let mut members = HashMap::new();
        let entries = archive
            .entries_with_seek()
            .map_err(|e| Error::corrupt(&input, super::layer_io::describe_io(&e)))?;
        for entry in entries {
            let entry =
                entry.map_err(|e| Error::corrupt(&input, super::layer_io::describe_io(&e)))?;
            let kind = entry.header().entry_type();
            if !(kind.is_file() || kind == tar::EntryType::Continuous) {
                continue;
            }
            let name = path_from_bytes(&entry.path_bytes());
            if let Ok(Some(name)) = normalize_path(&name) {
                members.insert(name, (entry.raw_file_position(), entry.size()));
            }
        }
        let file_len = std::fs::metadata(path)
            .map_err(|e| Error::io(path, e))?
            .len();
        if let Some((name, (start, len))) = members.iter().find(|(_, (s, l))| s + l > file_len) {
            return Err(Error::corrupt(
                &input,
                format!(
                    "truncated: member {name} needs {} bytes but the file ends at {}",
                    start + len,
                    file_len
                ),
            ));
        }
        if members.is_empty() {
            return Err(Error::corrupt(
                &input,
                "not an image archive: the tar holds no files",
            ));
        }
        Ok(TarFileStore {
            input,
            path: path.to_owned(),
            members,
        })
    }

    fn slice(&self, member: &str) -> Result<FileSlice> {
        let (start, len) = *self
            .members
            .get(member)
            .ok_or_else(|| missing(&self.input, member))?;
        let file = File::open(&self.path).map_err(|e| Error::io(&self.path, e))?;
        FileSlice::new(file, start, len).map_err(|e| Error::io(&self.path, e))
    }
}

impl BlobStore for TarFileStore {
    fn input(&self) -> &str {
        &self.input
    }
    fn contains(&self, member: &str) -> bool {
        self.members.contains_key(member)
    }
    fn read_json(&self, member: &str, limit: u64) -> Result<Vec<u8>> {
        let (_, len) = *self
            .members
            .get(member)
            .ok_or_else(|| missing(&self.input, member))?;
        check_json_len(&self.input, member, len, limit)?;
        let mut buf = Vec::with_capacity(len as usize);
        self.slice(member)?
            .read_to_end(&mut buf)
            .map_err(|e| Error::io(&self.path, e))?;
        Ok(buf)
    }
    fn read_layer(
        &self,
        member: &str,
        opts: &ReadOptions,
        hash_compressed: bool,
    ) -> Result<LayerRead> {
        let label = format!("{}: {member}", self.input);
        read_layer_seekable(&label, self.slice(member)?, opts, hash_compressed)
    }
    fn stored(&self, member: &str) -> Option<Stored> {
        let (_, len) = *self.members.get(member)?;
        sniff_stored(self.slice(member).ok()?, len)
    }
    fn open_member(&self, member: &str) -> Result<Box<dyn Read + Send + '_>> {
        Ok(Box::new(self.slice(member)?))
    }
}

fn check_json_len(input: &str, member: &str, len: u64, limit: u64) -> Result<()> {
    if len > limit {
        return Err(Error::Limit {
            input: format!("{input}: {member}"),
            what: format!("a JSON document of {len} bytes"),
            limit,
            flag: "--max-json-bytes",
        });
    }
    Ok(())
}

/// An OCI image layout directory.
pub struct DirStore {
    input: String,
    root: PathBuf,
}

impl DirStore {
    pub fn open(root: &Path) -> Self {
        DirStore {
            input: root.display().to_string(),
            root: root.to_owned(),
        }
    }

    fn file(&self, member: &str) -> Result<(File, u64)> {
        let path = self.root.join(member);
        let meta = std::fs::metadata(&path).map_err(|_| missing(&self.input, member))?;
        if !meta.is_file() {
            return Err(missing(&self.input, member));
        }
        let file = File::open(&path).map_err(|e| Error::io(&path, e))?;
        Ok((file, meta.len()))
    }
}

impl BlobStore for DirStore {
    fn input(&self) -> &str {
        &self.input
    }
    fn contains(&self, member: &str) -> bool {
        self.root.join(member).is_file()
    }
    fn read_json(&self, member: &str, limit: u64) -> Result<Vec<u8>> {
        let (mut file, len) = self.file(member)?;
        check_json_len(&self.input, member, len, limit)?;
        let mut buf = Vec::with_capacity(len as usize);
        file.read_to_end(&mut buf)
            .map_err(|e| Error::io(self.root.join(member), e))?;
        Ok(buf)
    }
    fn read_layer(
        &self,
        member: &str,
        opts: &ReadOptions,
        hash_compressed: bool,
    ) -> Result<LayerRead> {
        let (file, len) = self.file(member)?;
        let slice =
            FileSlice::new(file, 0, len).map_err(|e| Error::io(self.root.join(member), e))?;
        let label = format!("{}: {member}", self.input);
        read_layer_seekable(&label, slice, opts, hash_compressed)
    }
    fn stored(&self, member: &str) -> Option<Stored> {
        let (file, len) = self.file(member).ok()?;
        sniff_stored(file, len)
    }
    fn open_member(&self, member: &str) -> Result<Box<dyn Read + Send + '_>> {
        Ok(Box::new(self.file(member)?.0))
    }
}
