//! The caps against hostile input, through the binary: each one, when exceeded, is one line on
//! stderr that names the input, the cap and the flag that raises it, with exit code 2, from
//! every kind of source; and raising the cap with its flag lets the same image open.

use std::path::{Path, PathBuf};

use pyslim::source::writer::{ArchiveFormat, ImageSpec, LayerSpec, SpecEntry};

use crate::common;

/// The same image as a legacy `docker save`, an OCI tar and an OCI directory.
fn every_source(dir: &Path, spec: &ImageSpec) -> Vec<PathBuf> {
    vec![
        common::write_tar(dir, "legacy.tar", spec, ArchiveFormat::DockerLegacy),
        common::write_tar(dir, "oci.tar", spec, ArchiveFormat::OciLayout),
        common::write_dir(dir, "oci-dir", spec),
    ]
}

fn analyze(path: &Path, flags: &[&str]) -> std::process::Output {
    common::pyslim()
        .arg("analyze")
        .arg(path)
        .args(flags)
        .arg("--json")
        .output()
        .unwrap()
}

/// Asserts a one-line refusal that names `words`, and that `raise` lets the image open.
fn refused_then_opens(spec: &ImageSpec, cap: &[&str], words: &[&str], raise: &[&str]) {
    let dir = tempfile::tempdir().unwrap();
    for path in every_source(dir.path(), spec) {
        let out = analyze(&path, cap);
        assert_eq!(
            out.status.code(),
            Some(2),
            "{}: {cap:?} let it through",
            path.display()
        );
        assert!(out.stdout.is_empty(), "no report on a refusal");
        let err = String::from_utf8(out.stderr).unwrap();
        assert_eq!(err.trim_end().lines().count(), 1, "{err}");
        assert!(
            err.contains(&*path.to_string_lossy()),
            "names the input: {err}"
        );
        for w in words {
            assert!(err.contains(w), "{w:?} missing from: {err}");
        }
        let ok = analyze(&path, raise);
        assert!(
            ok.status.success(),
            "{}: {raise:?}: {}",
            path.display(),
            String::from_utf8_lossy(&ok.stderr)
        );
    }
}

fn one_layer(entries: Vec<SpecEntry>) -> ImageSpec {
    ImageSpec::new(
        "fixture/hostile:1",
        vec![LayerSpec::new("RUN make it", entries)],
    )
}

#[test]
fn a_path_longer_than_the_cap_is_refused() {
    // 300 bytes: past ustar's 100, so the writer uses a GNU long-name record.
    let long = format!("app/{}", "n".repeat(296));
    let spec = one_layer(vec![
        SpecEntry::file("app/ok.py", 10),
        SpecEntry::file(&long, 5),
    ]);
    refused_then_opens(
        &spec,
        &["--max-path-bytes", "200"],
        // The writer stores it as a GNU long-name record: 300 bytes and a NUL.
        &[
            "a GNU long-name record of 301 bytes",
            "limit of 200",
            "--max-path-bytes",
        ],
        &["--max-path-bytes", "300"],
    );
}

#[test]
fn a_path_deeper_than_the_cap_is_refused() {
    let deep = (0..40)
        .map(|i| format!("d{i}"))
        .collect::<Vec<_>>()
        .join("/")
        + "/leaf.py";
    let spec = one_layer(vec![SpecEntry::file(&deep, 5)]);
    refused_then_opens(
        &spec,
        &["--max-path-depth", "32"],
        &["depth", "32", "--max-path-depth"],
        &["--max-path-depth", "41"],
    );
}

#[test]
fn json_larger_than_the_cap_is_refused() {
    let spec = one_layer(vec![SpecEntry::file("app/main.py", 10)]);
    refused_then_opens(
        &spec,
        &["--max-json-bytes", "100"],
        &["100", "--max-json-bytes"],
        &["--max-json-bytes", "1000000"],
    );
}

#[test]
fn too_many_entries_are_refused_from_every_source() {
    let many = (0..300)
        .map(|i| SpecEntry::file(&format!("f/{i}"), 0))
        .collect();
    refused_then_opens(
        &one_layer(many),
        &["--max-entries", "100"],
        &["100", "--max-entries"],
        &["--max-entries", "1000"],
    );
}

/// A layer tar made by hand: records the writer would never produce.
fn raw_layer(records: Vec<(u8, u64, &[u8], Box<dyn std::io::Read + '_>)>) -> Vec<u8> {
    let mut builder = tar::Builder::new(Vec::new());
    for (kind, size, name, mut body) in records {
        let mut header = tar::Header::new_gnu();
        header.as_old_mut().name[..name.len()].copy_from_slice(name);
        header.set_size(size);
        header.set_mode(0o644);
        header.set_entry_type(tar::EntryType::new(kind));
        header.set_cksum();
        builder.append(&header, body.as_mut()).unwrap();
    }
    builder.into_inner().unwrap()
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    enc.write_all(bytes).unwrap();
    enc.finish().unwrap()
}

/// A legacy docker save whose only layer is `layer` (stored as given, gzip or not).
fn archive_with_layer(dir: &Path, layer: Vec<u8>) -> PathBuf {
    let path = common::write_tar(
        dir,
        "hostile.tar",
        &one_layer(vec![SpecEntry::file("placeholder", 1)]),
        ArchiveFormat::DockerLegacy,
    );
    let member = common::manifest_layers(&path).remove(0);
    common::edit_member(&path, &member, |data| *data = layer);
    path
}

#[test]
fn a_long_name_record_over_the_cap_is_refused_before_it_is_read() {
    // 64 MiB of name in a gzip layer of a few hundred KB. The tar crate would read it all
    // into memory before pyslim saw the entry; the guard refuses it from its header.
    let size = 64 << 20;
    let zeros = || -> Box<dyn std::io::Read> { Box::new(std::io::repeat(b'a').take(size)) };
    use std::io::Read;
    let layer = raw_layer(vec![
        (b'L', size, b"././@LongLink", zeros()),
        (b'0', 3, b"x", Box::new(&b"abc"[..])),
    ]);
    let dir = tempfile::tempdir().unwrap();
    for (name, blob) in [("plain", layer.clone()), ("gzip", gzip(&layer))] {
        let path = archive_with_layer(dir.path(), blob);
        let out = analyze(&path, &[]);
        assert_eq!(out.status.code(), Some(2), "{name}");
        let err = String::from_utf8(out.stderr).unwrap();
        assert_eq!(err.trim_end().lines().count(), 1, "{err}");
        assert!(
            err.contains(&format!("a GNU long-name record of {size} bytes"))
                && err.contains("limit of 4096")
                && err.contains("--max-path-bytes"),
            "{name}: {err}"
        );
    }
}

#[test]
fn the_guard_follows_pax_sizes_and_long_names_that_are_allowed() {
    // A PAX record that sets the next file's size (its header says 0), then a long name under
    // the cap, then one over it: the guard must stay in step across the first two to see the
    // third, and pyslim must read the first two as the files they are.
    let pax = b"13 size=2000\n";
    let long = format!("app/{}", "d".repeat(300));
    let layer = |over: bool| {
        let mut records: Vec<(u8, u64, &[u8], Box<dyn std::io::Read>)> = vec![
            (
                b'x',
                pax.len() as u64,
                b"PaxHeaders/big",
                Box::new(&pax[..]),
            ),
            (
                b'0',
                0,
                b"app/big.bin",
                Box::new(std::io::Cursor::new(vec![7u8; 2000])),
            ),
            (
                b'L',
                long.len() as u64 + 1,
                b"././@LongLink",
                Box::new(std::io::Cursor::new(format!("{long}\0").into_bytes())),
            ),
            (b'0', 5, b"trunc", Box::new(&b"hello"[..])),
        ];
        if over {
            records.push((
                b'L',
                9000,
                b"././@LongLink",
                Box::new(std::io::Cursor::new(vec![b'z'; 9000])),
            ));
            records.push((b'0', 1, b"y", Box::new(&b"!"[..])));
        }
        raw_layer(records)
    };
    let dir = tempfile::tempdir().unwrap();
    let ok = archive_with_layer(dir.path(), gzip(&layer(false)));
    let out = analyze(&ok, &[]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let files: Vec<(String, u64)> = doc["largest_files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["path"].as_str().unwrap().to_owned(),
                f["bytes"].as_u64().unwrap(),
            )
        })
        .collect();
    assert!(files.contains(&("app/big.bin".into(), 2000)), "{files:?}");
    assert!(files.contains(&(long.clone(), 5)), "{files:?}");

    let over = archive_with_layer(dir.path(), gzip(&layer(true)));
    let out = analyze(&over, &[]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(
        err.contains("a GNU long-name record of 9000 bytes"),
        "{err}"
    );
}

/// One header block, made by hand: `name`, type `kind`, the 12 bytes of its size field as
/// given, then `edit` for anything else; the checksum last.
fn header_block(
    kind: u8,
    name: &[u8],
    size_field: [u8; 12],
    edit: impl FnOnce(&mut [u8]),
) -> Vec<u8> {
    let mut h = tar::Header::new_gnu();
    h.as_old_mut().name[..name.len()].copy_from_slice(name);
    h.set_mode(0o644);
    h.set_entry_type(tar::EntryType::new(kind));
    let bytes = h.as_mut_bytes();
    bytes[124..136].copy_from_slice(&size_field);
    edit(bytes);
    h.set_cksum();
    h.as_bytes().to_vec()
}

fn octal_field(n: u64) -> [u8; 12] {
    let mut f = [0u8; 12];
    f[..11].copy_from_slice(format!("{n:011o}").as_bytes());
    f
}

fn padded(mut data: Vec<u8>) -> Vec<u8> {
    data.resize(data.len().div_ceil(512) * 512, 0);
    data
}

/// Each of these once slipped past the guard (it lost the framing or gave up), so the tar
/// crate went on to read the long name into memory. Each must be refused from its header, in
/// a plain layer (read with seeks) and a gzip one (streamed).
#[test]
fn long_names_behind_odd_framing_are_still_refused() {
    let over_cap_name = |size: u64| {
        let mut t = header_block(b'L', b"././@LongLink", octal_field(size), |_| {});
        t.extend(padded(vec![b'a'; size as usize]));
        t
    };
    // 1. A valid GNU sparse file with an extension block before its data.
    let mut sparse = header_block(b'S', b"sparse.bin", octal_field(10), |h| {
        h[386..398].copy_from_slice(&octal_field(0)); // chunk offset
        h[398..410].copy_from_slice(&octal_field(10)); // chunk length
        h[482] = 1; // an extension block follows
        h[483..495].copy_from_slice(&octal_field(10)); // real size
    });
    sparse.extend([0u8; 512]); // the extension block: no chunks, no more blocks
    sparse.extend(padded(vec![9u8; 10]));
    sparse.extend(over_cap_name(20_000));
    // 2. An empty PAX record (the crate seeks zero bytes past its body).
    let mut empty_pax = header_block(b'x', b"PaxHeaders/e", octal_field(0), |_| {});
    empty_pax.extend(header_block(b'0', b"after-pax", octal_field(0), |_| {}));
    empty_pax.extend(over_cap_name(20_000));
    // 3. A size field with a tab before the digits, which the crate trims.
    let mut tabbed = header_block(b'L', b"././@LongLink", *b"\t0000047040\0", |_| {});
    tabbed.extend(padded(vec![b'a'; 20_000]));
    // 4. A base-256 size whose bytes before the last 8 would overflow a u64 (the crate reads
    //    only the last 8: 4 GiB here, never supplied).
    let mut b256 = [0u8; 12];
    b256[0] = 0x80;
    b256[1] = 1;
    b256[7] = 1;
    let huge = header_block(b'L', b"././@LongLink", b256, |_| {});
    let cases: [(&str, Vec<u8>, u64); 4] = [
        ("sparse", sparse, 20_000),
        ("empty pax", empty_pax, 20_000),
        ("tab", tabbed, 20_000),
        ("base-256", huge, 1 << 32),
    ];
    let dir = tempfile::tempdir().unwrap();
    for (name, mut layer, size) in cases {
        layer.extend([0u8; 1024]);
        for (how, blob) in [("plain", layer.clone()), ("gzip", gzip(&layer))] {
            let path = archive_with_layer(dir.path(), blob);
            let out = analyze(&path, &[]);
            let err = String::from_utf8(out.stderr).unwrap();
            assert_eq!(out.status.code(), Some(2), "{name}, {how}: {err}");
            assert!(
                err.contains(&format!("a GNU long-name record of {size} bytes")),
                "{name}, {how}: {err}"
            );
        }
    }
}
