//! A guard in front of the tar parser against hostile extension records.
//!
//! The tar crate reads the whole body of a GNU long-name (`L`, `K`) or PAX (`x`, `g`) record
//! into memory before it hands over the entry it describes, so a cap on path length checked on
//! that entry comes too late: a gzip layer of a few megabytes can carry a long name of
//! gigabytes. This reader watches the tar framing as the bytes pass and refuses such a record
//! from its header, before its body is read.
//!
//! It follows the framing only as far as it needs to: header blocks, data rounded up to 512
//! bytes, and the PAX `size` record that overrides the next entry's size. Where it meets
//! something it does not follow (GNU sparse extension blocks, an unreadable size field, a seek
//! that lands off the framing), it stops guarding and leaves the tar crate to judge the rest.

use std::io::{self, Read, Seek, SeekFrom};

const BLOCK: u64 = 512;
/// PAX records name a path, link target, times, ids and extended attributes: kilobytes.
pub(crate) const MAX_PAX_RECORD_BYTES: u64 = 1 << 20;

/// A long-name record over the path cap, carried inside the `io::Error` the tar crate passes
/// on, so the caller can report it as the limit it is.
#[derive(Debug)]
pub(crate) struct LongNameOverCap {
    pub bytes: u64,
    pub limit: u64,
}

impl std::fmt::Display for LongNameOverCap {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "a GNU long-name record of {} bytes", self.bytes)
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
            pax_size: None,
            // The record holds the name and a terminating NUL.
            max_name_bytes: max_name_bytes as u64 + 1,
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
                self.on_header()?;
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
                        bytes: size,
                        limit: self.max_name_bytes - 1,
                    },
                ));
            }
            b'x' | b'g' if size > MAX_PAX_RECORD_BYTES => {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!(
                        "corrupt tar: a PAX header record of {size} bytes (at most {MAX_PAX_RECORD_BYTES} are read)"
                    ),
                ));
            }
            b'x' => self.pax = Some((data_start, size, Vec::with_capacity(size as usize))),
            // GNU sparse headers may be followed by extension blocks this guard does not follow.
            b'S' if h[482] != 0 => self.off = true,
            _ => {}
        }
        let padded = size.div_ceil(BLOCK).checked_mul(BLOCK);
        match padded.and_then(|p| data_start.checked_add(p)) {
            Some(next) => self.next_header = next,
            None => self.off = true,
        }
        Ok(())
    }
}

/// A tar numeric field: octal text, or base-256 when the high bit of the first byte is set.
fn parse_size(field: &[u8]) -> Option<u64> {
    if field.first().is_some_and(|b| b & 0x80 != 0) {
        let mut v: u64 = u64::from(field[0] & 0x7f);
        for b in &field[1..] {
            v = v.checked_mul(256)?.checked_add(u64::from(*b))?;
        }
        return Some(v);
    }
    let text: Vec<u8> = field
        .iter()
        .copied()
        .skip_while(|b| *b == b' ')
        .take_while(|b| (b'0'..=b'7').contains(b))
        .collect();
    if text.is_empty() {
        return Some(0);
    }
    u64::from_str_radix(std::str::from_utf8(&text).ok()?, 8).ok()
}

/// The `size` record of a PAX body (`LEN key=value\n` records), if it has one.
fn pax_size(body: &[u8]) -> Option<u64> {
    body.split(|b| *b == b'\n')
        .filter_map(|rec| {
            let space = rec.iter().position(|b| *b == b' ')?;
            let kv = &rec[space + 1..];
            kv.strip_prefix(b"size=")
        })
        .next_back()
        .and_then(|v| std::str::from_utf8(v).ok()?.parse().ok())
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
        if at < self.pos || self.pax.is_some() || self.header_seen != 0 || at > self.next_header {
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
        let mut big = [0u8; 12];
        big[0] = 0x80;
        big[11] = 1;
        big[10] = 2;
        assert_eq!(parse_size(&big), Some(513));
    }

    #[test]
    fn the_pax_size_record_is_found() {
        assert_eq!(
            pax_size(b"30 mtime=1234567890.123456789\n23 size=9000000000\n"),
            Some(9_000_000_000)
        );
        assert_eq!(pax_size(b"20 path=some/name\n"), None);
    }
}
