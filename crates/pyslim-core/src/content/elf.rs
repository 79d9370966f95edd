//! ELF files: the header, the section table and the dynamic section, read through `ReadAt` so
//! the same code serves a seekable layer and the pieces a streamed layer kept.

use serde::Serialize;

/// What an ELF file says about itself.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ElfInfo {
    /// `exec`, `dyn` (shared object or PIE), `rel` (object file), or `other`.
    pub kind: &'static str,
    pub has_symtab: bool,
    /// Bytes of `.symtab` and `.strtab`.
    pub symtab_bytes: u64,
    /// Bytes of debug sections (non-allocated PROGBITS: `.debug_*`, `.zdebug_*`).
    pub debug_bytes: u64,
    /// Libraries the dynamic section names (DT_NEEDED), in order.
    #[serde(skip)]
    pub needed: Vec<String>,
    /// The name a shared library answers to (DT_SONAME).
    #[serde(skip)]
    pub soname: Option<String>,
    /// Whether the dynamic section could be read: a stream keeps only a big file's header
    /// and section table, so `needed` is unknown there, not empty.
    #[serde(skip)]
    pub dynamic_read: bool,
}

/// Stripped files keep a few tiny non-allocated sections (.gnu_debuglink, .comment): below
/// this, debug bytes are not debug info.
const DEBUG_INFO_MIN: u64 = 4096;

impl ElfInfo {
    fn real_debug_bytes(&self) -> u64 {
        if self.debug_bytes >= DEBUG_INFO_MIN {
            self.debug_bytes
        } else {
            0
        }
    }

    /// Bytes `strip` would remove.
    pub fn strippable_bytes(&self) -> u64 {
        self.symtab_bytes + self.real_debug_bytes()
    }

    pub fn unstripped(&self) -> bool {
        self.has_symtab || self.real_debug_bytes() > 0
    }
}

/// Random access to parts of a file, which may fail for parts not at hand (a stream keeps
/// only the head and the tail).
pub trait ReadAt {
    fn read_at(&mut self, offset: u64, len: usize) -> Option<Vec<u8>>;
}

/// The parts of a file kept as a stream passed by (its header, its section table), each at
/// its offset. A read is served only when one part holds all of it.
#[derive(Debug, Default)]
pub struct Pieces {
    parts: Vec<(u64, Vec<u8>)>,
}

impl Pieces {
    pub fn add(&mut self, offset: u64, bytes: Vec<u8>) {
        self.parts.push((offset, bytes));
    }
}

impl ReadAt for Pieces {
    fn read_at(&mut self, offset: u64, len: usize) -> Option<Vec<u8>> {
        let end = offset.checked_add(len as u64)?;
        self.parts.iter().find_map(|(at, bytes)| {
            let from = offset.checked_sub(*at)?;
            (end <= at + bytes.len() as u64)
                .then(|| bytes[from as usize..from as usize + len].to_vec())
        })
    }
}

/// Where an ELF file's section header table lies (offset and length), from its first 64
/// bytes: a stream must keep those bytes as they pass, wherever the linker (or patchelf,
/// which moves it into the middle of the file) put them. `None` when there is no table.
pub fn section_table_range(ident: &[u8]) -> Option<(u64, usize)> {
    let header = ElfHeader::parse(ident)?;
    header
        .has_section_table()
        .then(|| (header.shoff, (header.shnum * header.shentsize) as usize))
}

/// The fields of the ELF header pyslim uses.
struct ElfHeader {
    wide: bool,
    little: bool,
    kind: &'static str,
    shoff: u64,
    shentsize: u64,
    shnum: u64,
    shstrndx: u64,
}

impl ElfHeader {
    fn parse(ident: &[u8]) -> Option<ElfHeader> {
        if ident.len() < 52 || &ident[..4] != b"\x7fELF" {
            return None;
        }
        let wide = ident[4] == 2;
        let little = ident[5] != 2;
        let rd = Reader { little };
        let kind = match rd.u16(ident, 16) {
            1 => "rel",
            2 => "exec",
            3 => "dyn",
            _ => "other",
        };
        let (shoff, shentsize, shnum, shstrndx) = if wide {
            if ident.len() < 64 {
                return None;
            }
            (
                rd.u64(ident, 40),
                rd.u16(ident, 58) as u64,
                rd.u16(ident, 60) as u64,
                rd.u16(ident, 62) as u64,
            )
        } else {
            (
                rd.u32(ident, 32) as u64,
                rd.u16(ident, 46) as u64,
                rd.u16(ident, 48) as u64,
                rd.u16(ident, 50) as u64,
            )
        };
        Some(ElfHeader {
            wide,
            little,
            kind,
            shoff,
            shentsize,
            shnum,
            shstrndx,
        })
    }

    /// A table pyslim will read: present, not absurdly long, with entries of a real size.
    fn has_section_table(&self) -> bool {
        let min_entsize = if self.wide { 64 } else { 40 };
        self.shoff != 0
            && self.shnum != 0
            && self.shnum <= MAX_SECTIONS
            && self.shentsize >= min_entsize
    }
}

const SHT_PROGBITS: u32 = 1;
const SHT_SYMTAB: u32 = 2;
const SHT_STRTAB: u32 = 3;
const SHT_DYNAMIC: u32 = 6;
const SHT_NOBITS: u32 = 8;
const DT_NULL: u64 = 0;
const DT_NEEDED: u64 = 1;
const DT_SONAME: u64 = 14;
/// Largest dynamic string table pyslim will read (real ones are a few KiB to a few hundred).
const MAX_DYNSTR: u64 = 4 << 20;
const SHF_ALLOC: u64 = 0x2;
/// Most section headers pyslim will read from one file.
const MAX_SECTIONS: u64 = 4096;

/// Reads the ELF header and section table. `None` when the file is not ELF (or too damaged to
/// say anything).
pub fn probe_elf(file: &mut dyn ReadAt, size: u64) -> Option<ElfInfo> {
    let ident = file.read_at(0, 64.min(size as usize))?;
    let header = ElfHeader::parse(&ident)?;
    let ElfHeader {
        wide,
        little,
        kind,
        shoff,
        shentsize,
        shnum,
        shstrndx,
    } = header;
    let rd = Reader { little };
    let mut info = ElfInfo {
        kind,
        ..Default::default()
    };
    if !header.has_section_table() {
        // No section table: fully stripped (sstrip) or damaged. Nothing to strip either way.
        return Some(info);
    }
    let table = file.read_at(shoff, (shnum * shentsize) as usize)?;
    // Sections are told apart by type and flags, not by name: names live in a section a
    // stream may already have passed, and the loader cares only about allocated sections.
    // Non-allocated PROGBITS are debug info (.debug_*, .zdebug_*; .comment is a few bytes);
    // a non-allocated string table other than the section names is .strtab.
    let section = |i: u64| -> (u32, u64, u64, u64, u32) {
        let at = (i * shentsize) as usize;
        if wide {
            (
                rd.u32(&table, at + 4),
                rd.u64(&table, at + 8),
                rd.u64(&table, at + 24),
                rd.u64(&table, at + 32),
                rd.u32(&table, at + 40),
            )
        } else {
            (
                rd.u32(&table, at + 4),
                rd.u32(&table, at + 8) as u64,
                rd.u32(&table, at + 16) as u64,
                rd.u32(&table, at + 20) as u64,
                rd.u32(&table, at + 24),
            )
        }
    };
    let mut dynamic = None;
    for i in 0..shnum {
        let (sh_type, flags, offset, size, link) = section(i);
        if sh_type == SHT_DYNAMIC && dynamic.is_none() {
            dynamic = Some((offset, size, link as u64));
        }
        let allocated = flags & SHF_ALLOC != 0;
        match sh_type {
            SHT_SYMTAB => {
                info.has_symtab = true;
                info.symtab_bytes += size;
            }
            SHT_STRTAB if !allocated && i != shstrndx => info.symtab_bytes += size,
            SHT_PROGBITS if !allocated => info.debug_bytes += size,
            _ => {}
        }
    }
    match dynamic {
        // A static executable has no dynamic section: it needs nothing, and that is known.
        None => info.dynamic_read = true,
        Some((offset, size, link)) if link < shnum => {
            let (str_type, _, str_offset, str_size, _) = section(link);
            if str_type != SHT_NOBITS && str_size <= MAX_DYNSTR && size <= MAX_DYNSTR {
                if let (Some(dyns), Some(strs)) = (
                    file.read_at(offset, size as usize),
                    file.read_at(str_offset, str_size as usize),
                ) {
                    read_dynamic(&rd, wide, &dyns, &strs, &mut info);
                }
            }
        }
        Some(_) => {}
    }
    Some(info)
}

/// DT_NEEDED and DT_SONAME from the dynamic section and its string table. The loader finds a
/// library by these names alone, so they are what a removal must not take away.
fn read_dynamic(rd: &Reader, wide: bool, dyns: &[u8], strs: &[u8], info: &mut ElfInfo) {
    let step = if wide { 16 } else { 8 };
    let string_at = |at: u64| -> Option<String> {
        let rest = strs.get(at as usize..)?;
        let end = rest.iter().position(|&b| b == 0)?;
        Some(String::from_utf8_lossy(&rest[..end]).into_owned())
    };
    for at in (0..dyns.len().saturating_sub(step - 1)).step_by(step) {
        let (tag, val) = if wide {
            (rd.u64(dyns, at), rd.u64(dyns, at + 8))
        } else {
            (rd.u32(dyns, at) as u64, rd.u32(dyns, at + 4) as u64)
        };
        match tag {
            DT_NULL => break,
            DT_NEEDED => info.needed.extend(string_at(val)),
            DT_SONAME => info.soname = string_at(val),
            _ => {}
        }
    }
    info.dynamic_read = true;
}

struct Reader {
    little: bool,
}

impl Reader {
    fn bytes<const N: usize>(&self, b: &[u8], at: usize) -> [u8; N] {
        let mut out = [0u8; N];
        if let Some(s) = b.get(at..at + N) {
            out.copy_from_slice(s);
        }
        out
    }
    fn u16(&self, b: &[u8], at: usize) -> u16 {
        let a = self.bytes::<2>(b, at);
        if self.little {
            u16::from_le_bytes(a)
        } else {
            u16::from_be_bytes(a)
        }
    }
    fn u32(&self, b: &[u8], at: usize) -> u32 {
        let a = self.bytes::<4>(b, at);
        if self.little {
            u32::from_le_bytes(a)
        } else {
            u32::from_be_bytes(a)
        }
    }
    fn u64(&self, b: &[u8], at: usize) -> u64 {
        let a = self.bytes::<8>(b, at);
        if self.little {
            u64::from_le_bytes(a)
        } else {
            u64::from_be_bytes(a)
        }
    }
}
