//! Small I/O helpers for reading layers: a reader that counts and hashes what passes, one
//! whose short seeks stay in its buffer, `ReadAt` over a seekable layer, the streamed ELF
//! probe, and words for read errors.

use std::io::{self, BufRead, BufReader, Read, Seek};

use sha2::{Digest, Sha256};

use pyslim_core::content::{probe_elf, section_table_range, ElfInfo, Pieces, ReadAt};

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
    use pyslim_core::image::Compression;
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

/// Streamed ELF files up to this size are kept whole while they pass, so their dynamic
/// section (DT_NEEDED) is read too; bigger ones keep their header and section table only.
const ELF_KEEP_WHOLE: u64 = 256 * 1024;

/// Reads a streamed file through, keeping what the ELF probe needs, and probes it. The
/// section table is taken as it passes, wherever it lies: linkers put it at the end, but
/// patchelf (auditwheel's repaired wheels: numpy.libs, scipy.libs) leaves it in the middle,
/// and a tail-only window loses it. Memory stays bounded: the header, the table (at most
/// 4096 entries) and small files whole.
pub(crate) fn probe_streamed_elf<R: Read>(entry: &mut R, size: u64) -> io::Result<Option<ElfInfo>> {
    let first = if size <= ELF_KEEP_WHOLE { size } else { 64 } as usize;
    let mut head = vec![0u8; first];
    let got = read_up_to(entry, &mut head)?;
    head.truncate(got);
    if got < 4 || &head[..4] != b"\x7fELF" {
        return Ok(None);
    }
    let mut pieces = Pieces::default();
    if let Some((start, len)) = section_table_range(&head) {
        let end = start.saturating_add(len as u64);
        if end > got as u64 && end <= size {
            pieces.add(start, read_range(entry, got as u64, start, len)?);
        }
    }
    pieces.add(0, head);
    Ok(probe_elf(&mut pieces, size))
}

/// Reads `len` bytes at `start` from a stream now at `pos`, skipping what comes before them.
/// Returns fewer bytes when the stream ends first (the probe then finds no table).
fn read_range<R: Read>(entry: &mut R, pos: u64, start: u64, len: usize) -> io::Result<Vec<u8>> {
    let mut out = Vec::with_capacity(len);
    let mut buf = vec![0u8; 64 * 1024];
    let mut pos = pos;
    let skip = start.saturating_sub(pos);
    io::copy(&mut entry.take(skip), &mut io::sink())?;
    pos += skip;
    if pos > start {
        // A table starting inside the ELF header is damaged: there is nothing to read.
        return Ok(Vec::new());
    }
    while out.len() < len {
        let want = (len - out.len()).min(buf.len());
        let n = entry.read(&mut buf[..want])?;
        if n == 0 {
            break;
        }
        out.extend_from_slice(&buf[..n]);
    }
    Ok(out)
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

#[cfg(test)]
mod tests {
    use super::*;
    use pyslim_core::content::ReadAt;

    struct Whole(Vec<u8>);
    impl ReadAt for Whole {
        fn read_at(&mut self, offset: u64, len: usize) -> Option<Vec<u8>> {
            self.0
                .get(offset as usize..offset as usize + len)
                .map(<[u8]>::to_vec)
        }
    }

    /// This test binary with 1 MiB appended, the shape patchelf leaves: the section table is
    /// then far from the end of the file, where no tail window sees it.
    fn table_in_the_middle() -> Vec<u8> {
        let mut exe = std::fs::read(std::env::current_exe().unwrap()).unwrap();
        exe.extend(std::iter::repeat_n(0u8, 1 << 20));
        exe
    }

    /// Serves a stream in reads of the given size, as a decompressor would.
    struct Chunked<'a>(&'a [u8], usize);
    impl Read for Chunked<'_> {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            let n = self.0.len().min(buf.len()).min(self.1);
            buf[..n].copy_from_slice(&self.0[..n]);
            self.0 = &self.0[n..];
            Ok(n)
        }
    }

    #[test]
    fn a_streamed_elf_keeps_its_section_table_wherever_it_lies() {
        let file = table_in_the_middle();
        let size = file.len() as u64;
        let whole = probe_elf(&mut Whole(file.clone()), size).unwrap();
        assert!(whole.unstripped());
        // Read sizes of a tar entry over gzip, zstd and a socket differ: none may matter.
        for chunk in [1, 4096, 65_536, 1 << 20] {
            let streamed = probe_streamed_elf(&mut Chunked(&file, chunk), size)
                .unwrap()
                .unwrap();
            assert_eq!(
                (
                    streamed.has_symtab,
                    streamed.symtab_bytes,
                    streamed.debug_bytes
                ),
                (whole.has_symtab, whole.symtab_bytes, whole.debug_bytes),
                "read in chunks of {chunk}"
            );
        }
    }

    #[test]
    fn a_small_streamed_elf_is_kept_whole_and_a_truncated_one_claims_nothing() {
        let exe = std::fs::read(std::env::current_exe().unwrap()).unwrap();
        // Cut to 200 KiB: header intact, section table past the end.
        let cut = &exe[..200 * 1024];
        assert!(
            probe_streamed_elf(&mut Chunked(cut, 4096), exe.len() as u64)
                .unwrap()
                .is_none()
        );
        assert!(probe_streamed_elf(&mut Chunked(b"#!/bin/sh\n", 10), 10)
            .unwrap()
            .is_none());
    }
}
