//! What pyslim reads of file contents, and what it makes of it. Contents are read only where
//! a finding or an inventory needs them: package metadata, secret candidates (first bytes),
//! and ELF headers and section tables. Everything here is a pure function of bytes.

/// How much of an entry's content the reader should capture.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CaptureKind {
    /// Up to this many bytes from the start (metadata, secret candidates).
    Head(usize),
    /// ELF header and section table, to see symbols and debug info.
    Elf,
}

/// Captured content of one entry of a layer.
#[derive(Debug, Clone, PartialEq)]
pub enum Captured {
    Text(Vec<u8>),
    Elf(ElfInfo),
    /// A credential-like file already classified (the kind the secrets detector gives it):
    /// what the layer cache keeps in place of the file's bytes, which it never stores.
    Credential(String),
}

/// Bytes kept for small metadata files.
pub const METADATA_HEAD: usize = 64 * 1024;
/// dpkg's status and apk's installed database can be several MiB.
pub const DATABASE_HEAD: usize = 32 << 20;
/// Smallest file worth probing as ELF: a 64-bit ELF header is 64 bytes.
const ELF_MIN: u64 = 64;

/// File names whose content may hold a credential.
const SECRET_NAMES: &[&str] = &[
    ".netrc",
    "_netrc",
    ".pypirc",
    "pip.conf",
    "pip.ini",
    ".npmrc",
    ".yarnrc",
    ".env",
    ".git-credentials",
    "id_rsa",
    "id_dsa",
    "id_ecdsa",
    "id_ed25519",
    "credentials",
    "credentials.json",
    ".boto",
    "application_default_credentials.json",
    ".dockercfg",
    ".htpasswd",
    ".pgpass",
    ".my.cnf",
];
const SECRET_SUFFIXES: &[&str] = &[".pem", ".key", ".env", ".p12", ".pfx", ".keystore", ".jks"];

/// Decides what to capture of an entry, from its path, mode and size alone.
pub fn capture_for(path: &str, mode: u32, size: u64) -> Option<CaptureKind> {
    let name = path.rsplit('/').next().unwrap_or(path);
    if path == "var/lib/dpkg/status" || path == "lib/apk/db/installed" {
        return Some(CaptureKind::Head(DATABASE_HEAD));
    }
    if is_dist_record(path) {
        return Some(CaptureKind::Head(RECORD_HEAD));
    }
    if path.starts_with("var/lib/dpkg/status.d/")
        || (path.starts_with("var/lib/dpkg/info/") && name.ends_with(".list"))
        || path == "etc/os-release"
        || path == "usr/lib/os-release"
        || name == "pyvenv.cfg"
        || is_dist_metadata(path)
    {
        return Some(CaptureKind::Head(METADATA_HEAD));
    }
    if secret_candidate(path, name) {
        return Some(CaptureKind::Head(METADATA_HEAD));
    }
    let so = name.ends_with(".so") || name.contains(".so.");
    if size >= ELF_MIN && (so || mode & 0o111 != 0) {
        return Some(CaptureKind::Elf);
    }
    None
}

/// A wheel's RECORD lists every file it installed; big distributions list thousands.
pub const RECORD_HEAD: usize = 4 << 20;

fn is_dist_record(path: &str) -> bool {
    path.ends_with("/RECORD")
        && path
            .rsplit('/')
            .nth(1)
            .is_some_and(|d| d.ends_with(".dist-info"))
}

fn is_dist_metadata(path: &str) -> bool {
    let mut parts = path.rsplitn(3, '/');
    let (Some(file), Some(dir)) = (parts.next(), parts.next()) else {
        return false;
    };
    (dir.ends_with(".dist-info")
        && matches!(file, "METADATA" | "INSTALLER" | "WHEEL" | "direct_url.json"))
        || (dir.ends_with(".egg-info") && matches!(file, "PKG-INFO" | "installed-files.txt"))
}

/// Whether a path's name marks it as a file that may hold a credential.
pub fn is_secret_candidate(path: &str) -> bool {
    secret_candidate(path, path.rsplit('/').next().unwrap_or(path))
}

fn secret_candidate(path: &str, name: &str) -> bool {
    SECRET_NAMES.contains(&name)
        || name.starts_with(".env.")
        || SECRET_SUFFIXES.iter().any(|s| name.ends_with(s))
        || path.ends_with(".docker/config.json")
        || path.ends_with(".kube/config")
        || path.ends_with(".aws/config")
}

mod elf;

pub use self::elf::{probe_elf, section_table_range, ElfInfo, Pieces, ReadAt};

#[cfg(test)]
mod tests {
    use super::*;

    struct Whole(Vec<u8>);
    impl ReadAt for Whole {
        fn read_at(&mut self, offset: u64, len: usize) -> Option<Vec<u8>> {
            self.0
                .get(offset as usize..offset as usize + len)
                .map(<[u8]>::to_vec)
        }
    }

    #[test]
    fn capture_policy_picks_metadata_secrets_and_binaries() {
        assert_eq!(
            capture_for("var/lib/dpkg/status", 0o644, 100),
            Some(CaptureKind::Head(DATABASE_HEAD))
        );
        assert!(capture_for(
            "usr/lib/python3/dist-packages/six-1.16.0.dist-info/METADATA",
            0o644,
            10
        )
        .is_some());
        assert!(capture_for("root/.ssh/id_rsa", 0o600, 1600).is_some());
        assert!(capture_for("app/.env", 0o644, 10).is_some());
        assert_eq!(
            capture_for("usr/bin/python3.11", 0o755, 6_000_000),
            Some(CaptureKind::Elf)
        );
        assert_eq!(
            capture_for("usr/lib/x86_64-linux-gnu/libssl.so.3", 0o644, 600_000),
            Some(CaptureKind::Elf)
        );
        assert_eq!(capture_for("usr/share/doc/bash/README", 0o644, 4000), None);
        assert_eq!(
            capture_for("etc/ssl/certs/ca-certificates.crt", 0o644, 200_000),
            None
        );
    }

    #[test]
    fn this_test_binary_is_elf_and_names_its_sections() {
        // The test executable itself: real ELF from this toolchain, with symbols.
        let exe = std::fs::read(std::env::current_exe().unwrap()).unwrap();
        let size = exe.len() as u64;
        let info = probe_elf(&mut Whole(exe), size).unwrap();
        assert!(matches!(info.kind, "dyn" | "exec"));
        assert!(info.has_symtab && info.symtab_bytes > 0);
        // A test binary is built with debug info.
        assert!(info.debug_bytes > 0);
        // Rust test binaries link the C library dynamically on Linux.
        assert!(info.dynamic_read);
        assert!(
            info.needed.iter().any(|n| n.starts_with("libc.so")),
            "{:?}",
            info.needed
        );
    }

    #[test]
    fn a_shared_library_names_itself_and_what_it_needs() {
        // The C library this test links against: its SONAME is what programs ask for.
        let exe = std::fs::read(std::env::current_exe().unwrap()).unwrap();
        let size = exe.len() as u64;
        let info = probe_elf(&mut Whole(exe), size).unwrap();
        let libc_name = info
            .needed
            .iter()
            .find(|n| n.starts_with("libc.so"))
            .unwrap();
        let libc = [
            "/lib/x86_64-linux-gnu",
            "/usr/lib/x86_64-linux-gnu",
            "/lib64",
            "/usr/lib",
        ]
        .iter()
        .map(|d| std::path::Path::new(d).join(libc_name))
        .find(|p| p.exists());
        let Some(libc) = libc else {
            eprintln!("skipped: no {libc_name} in the usual places");
            return;
        };
        let bytes = std::fs::read(&libc).unwrap();
        let size = bytes.len() as u64;
        let info = probe_elf(&mut Whole(bytes), size).unwrap();
        assert_eq!(info.soname.as_deref(), Some(libc_name.as_str()));
        assert!(
            info.needed.iter().any(|n| n.starts_with("ld-linux")),
            "{:?}",
            info.needed
        );
    }

    #[test]
    fn header_and_section_table_are_enough_for_the_strip_figures() {
        let exe = std::fs::read(std::env::current_exe().unwrap()).unwrap();
        let size = exe.len() as u64;
        let whole = probe_elf(&mut Whole(exe.clone()), size).unwrap();
        let (start, len) = section_table_range(&exe[..64]).unwrap();
        let mut kept = Pieces::default();
        kept.add(0, exe[..64].to_vec());
        kept.add(start, exe[start as usize..start as usize + len].to_vec());
        let streamed = probe_elf(&mut kept, size).unwrap();
        assert_eq!(
            (
                streamed.kind,
                streamed.has_symtab,
                streamed.symtab_bytes,
                streamed.debug_bytes
            ),
            (
                whole.kind,
                whole.has_symtab,
                whole.symtab_bytes,
                whole.debug_bytes
            )
        );
        assert!(whole.unstripped() && streamed.unstripped());
        // The dynamic section is in neither part: unknown, not empty.
        assert!(whole.dynamic_read && !whole.needed.is_empty());
        assert!(!streamed.dynamic_read && streamed.needed.is_empty());
        // Without the table, nothing is claimed.
        let mut header_only = Pieces::default();
        header_only.add(0, exe[..64].to_vec());
        assert!(probe_elf(&mut header_only, size).is_none());
    }

    #[test]
    fn not_elf_and_truncated_elf_are_not_misread() {
        assert!(probe_elf(&mut Whole(b"#!/bin/sh\necho hi\n".repeat(10)), 190).is_none());
        let mut fake = b"\x7fELF\x02\x01\x01".to_vec();
        fake.resize(64, 0);
        fake[40] = 0xff; // section table far past the end
        fake[60] = 3;
        fake[58] = 64;
        assert!(probe_elf(&mut Whole(fake), 64).is_none());
    }
}
