//! Small I/O helpers for reading layers: a reader that counts and hashes what passes, one
//! whose short seeks stay in its buffer, `ReadAt` over a seekable layer, the streamed ELF
//! probe, and words for read errors.

use std::io::{self, BufRead, BufReader, Read, Seek};

use sha2::{Digest, Sha256};

use crate::core::content::{probe_elf, ElfInfo, HeadTail, ReadAt};

pub(crate) fn read_up_to<R: Read>(reader: &mut R, buf: &mut [u8]) -> io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match reader.read(&mut buf[filled..])? {
            0 => break,
            n => filled += n,
        }
    }
    Ok(filled)
}

/// Names the usual read failures in words a user recognises.
/// A layer blob's tar stream, whatever its compression (sniffed from its first bytes).
pub(crate) fn decompressed<'a, R: Read + 'a>(blob: R) -> io::Result<Box<dyn Read + 'a>> {
    use super::layer_tar::sniff_compression;
    use crate::core::image::Compression;
    let mut buffered = BufReader::with_capacity(256 * 1024, blob);
    let head = buffered.fill_buf()?;
    Ok(match sniff_compression(head) {
        Compression::None => Box::new(buffered),
        Compression::Gzip => Box::new(flate2::bufread::MultiGzDecoder::new(buffered)),
        Compression::Zstd => Box::new(zstd::stream::read::Decoder::with_buffer(buffered)?),
    })
}

pub(crate) fn describe_io(err: &io::Error) -> String {
    let msg = err.to_string();
    if err.kind() == io::ErrorKind::UnexpectedEof
        || msg.contains("unexpected EOF")
        || msg.contains("failed to read entire block")
    {
        "truncated: the archive ends in the middle of an entry".into()
    } else if msg.starts_with("corrupt tar: ") {
        msg
    } else if msg.contains("checksum mismatch") || msg.contains("numeric field") {
        "corrupt tar: a header's checksum does not match".into()
    } else if msg.contains("invalid gzip header")
        || msg.contains("corrupt deflate stream")
        || msg.contains("deflate")
    {
        format!("corrupt gzip stream ({msg})")
    } else if msg.contains("Unknown frame descriptor")
        || msg.contains("zstd")
        || msg.contains("Data corruption")
    {
        format!("corrupt zstd stream ({msg})")
    } else {
        format!("unreadable: {msg}")
    }
}

/// Bytes of a streamed file kept for its ELF section table: the table and the section names
/// sit at the end of the file in what linkers write.
const ELF_TAIL: usize = 64 * 1024;

/// Reads a streamed file through, keeping its head and tail, and probes them as ELF.
pub(crate) fn probe_streamed_elf<R: Read>(entry: &mut R, size: u64) -> io::Result<Option<ElfInfo>> {
    let mut head = [0u8; 64];
    let got = read_up_to(entry, &mut head)?;
    if got < 4 || &head[..4] != b"\x7fELF" {
        return Ok(None);
    }
    let mut tail: Vec<u8> = Vec::with_capacity(ELF_TAIL * 2);
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = entry.read(&mut buf)?;
        if n == 0 {
            break;
        }
        tail.extend_from_slice(&buf[..n]);
        if tail.len() > 2 * ELF_TAIL {
            tail.drain(..tail.len() - ELF_TAIL);
        }
    }
    // The head bytes also count as tail when the file is small.
    let mut whole_tail = Vec::new();
    if (got as u64 + tail.len() as u64) == size {
        whole_tail.extend_from_slice(&head[..got]);
    }
    whole_tail.extend_from_slice(&tail);
    let mut at = HeadTail {
        head: &head[..got],
        tail: &whole_tail,
        size,
    };
    Ok(probe_elf(&mut at, size))
}

/// Bytes read ahead when reading headers: small files and the headers after them usually
/// arrive in one read; a seek past a large file wastes at most this much.
const HEADER_READ_AHEAD: usize = 8 * 1024;

/// A buffered reader whose relative seeks stay inside the buffer when they can. The tar
/// crate skips each entry's data with `SeekFrom::Current`; std's `BufReader` would drop its
/// buffer on every one of them and read again.
pub(crate) struct SkippingReader<R> {
    inner: BufReader<R>,
    pos: u64,
}

impl<R: Read + Seek> SkippingReader<R> {
    pub(crate) fn new(inner: R) -> Self {
        SkippingReader {
            inner: BufReader::with_capacity(HEADER_READ_AHEAD, inner),
            pos: 0,
        }
    }

    pub(crate) fn into_inner(self) -> R {
        self.inner.into_inner()
    }
}

impl<R: Read> Read for SkippingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.pos += n as u64;
        Ok(n)
    }
}

impl<R: Read + Seek> Seek for SkippingReader<R> {
    fn seek(&mut self, to: io::SeekFrom) -> io::Result<u64> {
        match to {
            io::SeekFrom::Current(delta) => {
                self.inner.seek_relative(delta)?;
                self.pos = self
                    .pos
                    .checked_add_signed(delta)
                    .ok_or_else(|| io::Error::other("seek before the start"))?;
            }
            other => self.pos = self.inner.seek(other)?,
        }
        Ok(self.pos)
    }
}

/// `ReadAt` over a seekable layer: offsets are relative to one file's data.
pub(crate) struct SeekRead<'a, R> {
    pub(crate) reader: &'a mut R,
    pub(crate) base: u64,
}

impl<R: Read + Seek> ReadAt for SeekRead<'_, R> {
    fn read_at(&mut self, offset: u64, len: usize) -> Option<Vec<u8>> {
        self.reader
            .seek(io::SeekFrom::Start(self.base.checked_add(offset)?))
            .ok()?;
        let mut buf = vec![0u8; len];
        self.reader.read_exact(&mut buf).ok()?;
        Some(buf)
    }
}

/// Counts and optionally hashes the bytes that pass through it.
pub(crate) struct HashingReader<R> {
    inner: R,
    hasher: Option<Sha256>,
    pub(crate) bytes_read: u64,
}

impl<R> HashingReader<R> {
    pub(crate) fn new(inner: R, hash: bool) -> Self {
        HashingReader {
            inner,
            hasher: hash.then(Sha256::new),
            bytes_read: 0,
        }
    }

    pub(crate) fn stop_hashing(&mut self) {
        self.hasher = None;
    }

    pub(crate) fn finish(self) -> Option<String> {
        self.finish_into_inner().1
    }

    pub(crate) fn finish_into_inner(self) -> (R, Option<String>) {
        let digest = self
            .hasher
            .map(|h| format!("sha256:{}", hex::encode(h.finalize())));
        (self.inner, digest)
    }
}

impl<R: Read> Read for HashingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        if let Some(h) = self.hasher.as_mut() {
            h.update(&buf[..n]);
        }
        self.bytes_read += n as u64;
        Ok(n)
    }
}
