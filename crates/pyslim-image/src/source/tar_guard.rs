//! A guard in front of the tar parser against hostile extension records.
//!
//! The tar crate reads the whole body of a GNU long-name (`L`, `K`) or PAX (`x`, `g`) record
//! into memory before it hands over the entry it describes, so a cap on path length checked on
//! that entry comes too late: a gzip layer of a few megabytes can carry a long name of
//! gigabytes. This reader watches the tar framing as the bytes pass and refuses such a record
//! from its header, before its body is read.
//!
//! It follows the framing as the tar crate (0.4) does: header blocks, data rounded up to 512
//! bytes, GNU sparse extension blocks, and the PAX `size` record that overrides the next
//! entry's size, with sizes and PAX records parsed the crate's way so the two never disagree
//! on where a header starts. A size field the crate could not parse either is left to the
//! crate to refuse. Only a seek that lands off the framing (which the crate never makes)
//! turns the guard off.

use std::io::{self, Read, Seek, SeekFrom};

const BLOCK: u64 = 512;
/// PAX records name a path, link target, times, ids and extended attributes: kilobytes.
pub(crate) const MAX_PAX_RECORD_BYTES: u64 = 1 << 20;

/// A long-name record over the path cap, carried inside the `io::Error` the tar crate passes
/// on, so the caller can report it as the limit it is.
#[derive(Debug)]
pub(crate) struct LongNameOverCap {
    /// `L` (a path) or `K` (a link target).
    pub kind: u8,
    pub bytes: u64,
    pub limit: u64,
}

impl std::fmt::Display for LongNameOverCap {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let what = if self.kind == b'K' {
            "long link-name"
        } else {
            "long-name"
        };
        write!(f, "a GNU {what} record of {} bytes", self.bytes)
    }
}

impl std::error::Error for LongNameOverCap {}

pub(crate) struct RecordGuard<R> {
    inner: R,
    /// Bytes of the tar delivered (or skipped) so far.
    pos: u64,
    /// Where the next header block starts.
    next_header: u64,
    header: [u8; BLOCK as usize],
    /// Bytes of the header at `next_header` seen so far.
    header_seen: usize,
    /// A PAX body being read for its `size` record: where it starts, and what has arrived.
    pax: Option<(u64, u64, Vec<u8>)>,
    /// Set while GNU sparse extension blocks are coming: the size of the entry's data after them.
    sparse_data: Option<u64>,
    /// The size a PAX record set for the next entry.
    pax_size: Option<u64>,
    max_name_bytes: u64,
    off: bool,
}

impl<R> RecordGuard<R> {
    pub(crate) fn new(inner: R, max_name_bytes: usize) -> Self {
        RecordGuard {
            inner,
            pos: 0,
            next_header: 0,
            header: [0; BLOCK as usize],
            header_seen: 0,
            pax: None,
            sparse_data: None,
            pax_size: None,
            // The record holds the name and a terminating NUL.
            max_name_bytes: (max_name_bytes as u64).saturating_add(1),
            off: false,
        }
    }

    pub(crate) fn into_inner(self) -> R {
        self.inner
    }

    /// Follows the framing over `bytes`, which sit at `self.pos` in the tar.
    fn observe(&mut self, bytes: &[u8]) -> io::Result<()> {
        let start = self.pos;
        let end = start + bytes.len() as u64;
        let mut at = start;
        while !self.off && at < end {
            if let Some((body_start, len, got)) = &mut self.pax {
                let body_end = *body_start + *len;
                if at < *body_start {
                    at = (*body_start).min(end);
                    continue;
                }
                let upto = body_end.min(end);
                got.extend_from_slice(&bytes[(at - start) as usize..(upto - start) as usize]);
                at = upto;
                if got.len() as u64 == *len {
                    self.pax_size = pax_size(got);
                    self.pax = None;
                }
                continue;
            }
            let header_start = self.next_header + self.header_seen as u64;
            if at < header_start {
                at = header_start.min(end);
                continue;
            }
            if at > header_start {
                // Bytes went by unseen (a read we did not follow): stop guarding.
                self.off = true;
                break;
            }
            let want = BLOCK as usize - self.header_seen;
            let take = want.min((end - at) as usize);
            let from = (at - start) as usize;
            self.header[self.header_seen..self.header_seen + take]
                .copy_from_slice(&bytes[from..from + take]);
            self.header_seen += take;
            at += take as u64;
            if self.header_seen == BLOCK as usize {
                self.header_seen = 0;
                match self.sparse_data {
                    Some(size) => self.on_sparse_block(size),
                    None => self.on_header()?,
                }
            }
        }
        Ok(())
    }

    fn on_header(&mut self) -> io::Result<()> {
        let h = &self.header;
        let data_start = self.next_header + BLOCK;
        if h.iter().all(|b| *b == 0) {
            self.next_header = data_start;
            return Ok(());
        }
        let Some(mut size) = parse_size(&h[124..136]) else {
            // The tar crate refuses this header itself, before reading anything after it.
            self.off = true;
            return Ok(());
        };
        let kind = h[156];
        let extension = matches!(kind, b'L' | b'K' | b'x' | b'g');
        if !extension {
            if let Some(s) = self.pax_size.take() {
                size = s;
            }
        }
        match kind {
            b'L' | b'K' if size > self.max_name_bytes => {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    LongNameOverCap {
                        kind,
                        bytes: size,
                        limit: self.max_name_bytes - 1,
                    },
                ));
            }
            // Global records (`g`) are handed over as entries, never buffered: no cap needed.
            b'x' if size > MAX_PAX_RECORD_BYTES => {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!(
                        "corrupt tar: a PAX header record of {size} bytes (at most {MAX_PAX_RECORD_BYTES} are read)"
                    ),
                ));
            }
            b'x' if size > 0 => {
                self.pax = Some((data_start, size, Vec::with_capacity(size as usize)))
            }
            // An empty PAX record sets nothing for the next entry.
            b'x' => self.pax_size = None,
            // A GNU sparse header may be followed by extension blocks, each saying whether
            // another follows; the data comes after the last.
            b'S' if h[482] != 0 => {
                self.sparse_data = Some(size);
                self.next_header = data_start;
                return Ok(());
            }
            _ => {}
        }
        self.skip_data(data_start, size);
        Ok(())
    }

    /// A GNU sparse extension block: another follows while its byte 504 is set.
    fn on_sparse_block(&mut self, data_size: u64) {
        let block_end = self.next_header + BLOCK;
        if self.header[504] != 0 {
            self.next_header = block_end;
        } else {
            self.sparse_data = None;
            self.skip_data(block_end, data_size);
        }
    }

    /// The next header comes after `size` bytes of data from `data_start`, in whole blocks.
    fn skip_data(&mut self, data_start: u64, size: u64) {
        let padded = size.div_ceil(BLOCK).checked_mul(BLOCK);
        match padded.and_then(|p| data_start.checked_add(p)) {
            Some(next) => self.next_header = next,
            None => self.off = true,
        }
    }
}

/// A tar numeric field, read exactly as the tar crate reads it: base-256 when the high bit
/// of the first byte is set (the last 8 bytes of a 12-byte field), otherwise octal text up to
/// the first NUL, whitespace trimmed. `None` where the crate would refuse the field.
fn parse_size(field: &[u8]) -> Option<u64> {
    if field.first().is_some_and(|b| b & 0x80 != 0) {
        let (mut v, skip) = if field.len() == 8 {
            (u64::from(field[0] ^ 0x80), 1)
        } else {
            (0, field.len().saturating_sub(8))
        };
        for b in &field[skip..] {
            v = (v << 8) | u64::from(*b);
        }
        return Some(v);
    }
    let text = match field.iter().position(|b| *b == 0) {
        Some(nul) => &field[..nul],
        None => field,
    };
    u64::from_str_radix(std::str::from_utf8(text).ok()?.trim(), 8).ok()
}

/// The `size` a PAX body sets for the next entry, found as the tar crate finds it: the first
/// well-formed `size` record, stopping at the first malformed record.
fn pax_size(body: &[u8]) -> Option<u64> {
    for ext in tar::PaxExtensions::new(body) {
        let ext = ext.ok()?;
        if ext.key() == Ok("size") {
            return ext.value().ok()?.parse().ok();
        }
    }
    None
}

impl<R: Read> Read for RecordGuard<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.observe(&buf[..n])?;
        self.pos += n as u64;
        Ok(n)
    }
}

impl<R: Seek> Seek for RecordGuard<R> {
    fn seek(&mut self, to: SeekFrom) -> io::Result<u64> {
        let at = self.inner.seek(to)?;
        // The tar crate seeks only forward over file data, so `at` is still in our
        // coordinates (the inner reader counts from the layer's first byte).
        let in_step = at == self.pos
            || (at > self.pos
                && at <= self.next_header
                && self.pax.is_none()
                && self.header_seen == 0
                && self.sparse_data.is_none());
        if !in_step {
            self.off = true;
        }
        self.pos = at;
        Ok(at)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_parse_from_octal_and_base_256() {
        assert_eq!(parse_size(b"00000001750\0"), Some(1000));
        assert_eq!(parse_size(b"     1750 \0\0"), Some(1000));
        assert_eq!(parse_size(b"\t1750\0     "), Some(1000));
        assert_eq!(parse_size(b"17x0\0\0\0\0\0\0\0\0"), None);
        let mut big = [0u8; 12];
        big[0] = 0x80;
        big[11] = 1;
        big[10] = 2;
        assert_eq!(parse_size(&big), Some(513));
        // Only the last 8 bytes count, as in the tar crate: no overflow, no giving up.
        let mut huge = [0u8; 12];
        huge[0] = 0x80;
        huge[1] = 1;
        huge[7] = 1;
        assert_eq!(parse_size(&huge), Some(1 << 32));
    }

    #[test]
    fn the_pax_size_record_is_found_as_the_tar_crate_finds_it() {
        assert_eq!(
            pax_size(b"30 mtime=1234567890.123456789\n19 size=9000000000\n"),
            Some(9_000_000_000)
        );
        assert_eq!(pax_size(b"21 path=some/name/xy\n"), None);
        // The first size wins; a record whose length is wrong ends the search.
        assert_eq!(pax_size(b"12 size=100\n12 size=200\n"), Some(100));
        assert_eq!(pax_size(b"99 path=x\n12 size=100\n"), None);
    }
}
