//! DT_NEEDED of big ELF files in compressed layers: a streamed read keeps only a file's
//! head and tail, so the dynamic section of a big binary is unknown after the first read.
//! The trim reads the files it keeps again (`pyslim trim --decisions` does this before its
//! safety check), and the shared-library check then sees what they need: here on an OCI
//! layout with gzip layers.

use pyslim::core::content::Captured;
use pyslim::core::examine;
use pyslim::core::findings::RuleSet;
use pyslim::core::image::Compression;
use pyslim::core::inventory::final_capture;
use pyslim::core::trim_image::plan_removal;
use pyslim::core::trim_image::safety::{self, Breakage};
use pyslim::source::writer::reprobe::needed_of_kept;
use pyslim::source::writer::{ArchiveFormat, Content, ImageSpec, LayerSpec, SpecEntry, SpecKind};

use crate::common;

const BIG: &str = "usr/bin/big-tool";

/// A dynamically linked ELF file bigger than the streamed probe's tail (128 KiB), whose
/// dynamic section is far from its end: the host's python3.x, else this test binary.
fn big_elf() -> Vec<u8> {
    let candidates = [
        "/usr/bin/python3.11",
        "/usr/bin/python3.12",
        "/usr/bin/python3",
    ];
    for p in candidates {
        if let Ok(b) = std::fs::read(p) {
            if b.starts_with(b"\x7fELF") && b.len() > 1 << 20 {
                return b;
            }
        }
    }
    std::fs::read(std::env::current_exe().unwrap()).unwrap()
}

fn spec() -> ImageSpec {
    let s = ImageSpec::new(
        "t/big-elf:1",
        vec![
            LayerSpec::new(
                "/bin/sh -c #(nop) ADD file:base in / ",
                vec![
                    SpecEntry::dir("usr"),
                    SpecEntry::dir("usr/bin"),
                    SpecEntry::file("usr/lib/x86_64-linux-gnu/libc.so.6", 200_000),
                    SpecEntry::file("usr/lib/x86_64-linux-gnu/libm.so.6", 100_000),
                ],
            ),
            LayerSpec::new(
                "/bin/sh -c install big-tool",
                vec![
                    SpecEntry::new(BIG, SpecKind::File(Content::Bytes(big_elf()))).with_mode(0o755),
                ],
            ),
        ],
    );
    common::with_compression(s, &[Compression::Gzip])
}

#[test]
fn a_big_elf_in_a_gzip_layer_is_read_again_and_its_libraries_are_kept() {
    let dir = tempfile::tempdir().unwrap();
    let tar = common::write_tar(dir.path(), "t.tar", &spec(), ArchiveFormat::OciLayout);
    let mut image = common::open(&tar).unwrap();
    let ex = examine(&image, Some(&RuleSet::builtin().unwrap()), 20);
    let big = ex.tree.lookup(BIG).unwrap();
    let elf = |image: &pyslim::Image| match final_capture(image, &ex.tree, big) {
        Some(Captured::Elf(info)) => info.clone(),
        other => panic!("{other:?}"),
    };
    // The streamed read could not see the dynamic section.
    assert!(!elf(&image).dynamic_read, "{:?}", elf(&image));
    let mut chosen = vec![false; ex.tree.nodes.len()];
    chosen[ex
        .tree
        .lookup("usr/lib/x86_64-linux-gnu/libc.so.6")
        .unwrap() as usize] = true;
    let plan = plan_removal(&image, &ex.tree, &chosen);
    assert_eq!(
        safety::check(&image, &ex, &plan.removed),
        vec![],
        "blind before"
    );

    let got = needed_of_kept(&tar, &mut image, &ex.tree, &plan.removed, None, 1 << 20).unwrap();
    assert_eq!((got.read, got.unknown), (1, 0));
    assert_eq!(got.warning(), None);
    let info = elf(&image);
    assert!(
        info.dynamic_read && info.needed.iter().any(|n| n == "libc.so.6"),
        "{info:?}"
    );
    let problems = safety::check(&image, &ex, &plan.removed);
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert_eq!(problems[0].kind, Breakage::SharedLibrary);
    assert_eq!(
        problems[0].message,
        format!("/{BIG} needs libc.so.6 (DT_NEEDED), and the trim removes /usr/lib/x86_64-linux-gnu/libc.so.6")
    );
    // Nothing left unknown: a second call reads nothing.
    let again = needed_of_kept(&tar, &mut image, &ex.tree, &plan.removed, None, 1 << 20).unwrap();
    assert_eq!((again.read, again.unknown), (0, 0));
}
