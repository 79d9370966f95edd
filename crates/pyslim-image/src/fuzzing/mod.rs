//! The fuzz harness, shared by the cargo-fuzz targets (`fuzz/fuzz_targets/*.rs`) and the
//! regression test that replays their corpora and crashes on the stable toolchain
//! (`tests/fuzz_regressions.rs`). Each target runs the path a user's input takes: open the
//! bytes as the source they claim to be, build the merged tree, analyse, take the inventory,
//! and run the rules (for one input in eight: see `examine`). Not part of the supported API.
#![doc(hidden)]

mod seeds;

use std::io::Cursor;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;

use crate::source::layer_tar::{read_layer_seekable, read_layer_stream, LayerRead};
use crate::source::{OpenOptions, ReadOptions, SourceChoice};
use pyslim_core::dockerfile::rewrite::{self, Edit};
use pyslim_core::dockerfile::Dockerfile;
use pyslim_core::findings::RuleSet;
use pyslim_core::image::{HistoryEntry, Image, ImageConfig, Layer, SourceKind};

/// One fuzz target: the name is also its directory under `fuzz/corpus/` and
/// `tests/fuzz-regressions/`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// A `docker save` tar (legacy or OCI style, possibly gzip-compressed).
    DockerArchive,
    /// A tar of an OCI image layout.
    OciLayout,
    /// Uncompressed layer tars, stacked (see [`LAYER_SEPARATOR`]).
    LayerTar,
    /// gzip- or zstd-compressed layer blobs, stacked the same way.
    CompressedLayer,
    /// A Dockerfile: parse, rewrite, match history to instructions.
    Dockerfile,
}

impl Target {
    pub const ALL: [Target; 5] = [
        Target::DockerArchive,
        Target::OciLayout,
        Target::LayerTar,
        Target::CompressedLayer,
        Target::Dockerfile,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Target::DockerArchive => "docker_archive",
            Target::OciLayout => "oci_layout",
            Target::LayerTar => "layer_tar",
            Target::CompressedLayer => "compressed_layer",
            Target::Dockerfile => "dockerfile",
        }
    }
}

/// Splits one fuzz input into the layers of a stack, so whiteouts, opaque dirs and hardlinks
/// meet lower layers: bytes no tar header or compressed stream is likely to hold.
pub const LAYER_SEPARATOR: &[u8] = b"\n=LAYER=\n";
/// More layers add nothing a fuzzer can find that four cannot.
const MAX_LAYERS: usize = 4;

/// Runs `target` on `data`. `Err` carries the error the user would see; a panic is a bug.
pub fn run(target: Target, data: &[u8]) -> Result<(), String> {
    match target {
        Target::DockerArchive => open_image(data, SourceChoice::DockerArchive),
        Target::OciLayout => open_image(data, SourceChoice::Oci),
        Target::LayerTar | Target::CompressedLayer => stack_layers(data),
        Target::Dockerfile => {
            dockerfile(data);
            Ok(())
        }
    }
}

/// What the fuzz targets and the regression test require of every input: no panic (checked
/// by the caller's panic handling) and an error, if any, that is one line a user can read.
pub fn check(target: Target, data: &[u8]) {
    if let Err(message) = run(target, data) {
        assert!(
            !message.is_empty() && !message.contains('\n'),
            "{}: error is not one line: {message:?}",
            target.name()
        );
    }
}

fn rules() -> Option<&'static RuleSet> {
    static RULES: OnceLock<Option<RuleSet>> = OnceLock::new();
    RULES.get_or_init(|| RuleSet::builtin().ok()).as_ref()
}

/// The engine, the analysis and the inventory for every input; the findings for one in eight.
/// Evaluating the rules compiles their globs (milliseconds, ten times the rest), so running
/// them always would cut the executions tenfold; choosing by length keeps a replay identical.
fn examine(image: &Image, data: &[u8]) {
    let with_rules = data.len().is_multiple_of(8);
    let exam = pyslim_core::examine(image, rules().filter(|_| with_rules), 10);
    if !with_rules {
        pyslim_core::inventory::build(image, &exam.tree);
    }
    // Every screen and the trim session find nodes by path: each node's path must lead back
    // to it, whatever names the layers carried.
    let tree = &exam.tree;
    for id in 0..tree.nodes.len() as u32 {
        let path = tree.path(id);
        assert_eq!(tree.lookup(&path), Some(id), "lookup({path:?})");
    }
}

/// Options that keep one input's cost bounded: the fuzzer's memory limit stands for the
/// user's, and small limits let it reach the limit checks.
fn read_options() -> ReadOptions {
    let mut read = ReadOptions::default();
    read.limits.max_entries_per_layer = 10_000;
    read.limits.max_json_bytes = 1 << 20;
    read
}

/// The readers take a path (they seek, or read the tar twice): the input goes to a file in
/// memory-backed /dev/shm where there is one, named uniquely so tests can run in parallel.
fn open_image(data: &[u8], source: SourceChoice) -> Result<(), String> {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let dir = if std::path::Path::new("/dev/shm").is_dir() {
        PathBuf::from("/dev/shm")
    } else {
        std::env::temp_dir()
    };
    let path = dir.join(format!(
        "pyslim-fuzz-{}-{}.tar",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    ));
    std::fs::write(&path, data).map_err(|e| format!("scratch file: {e}"))?;
    let opts = OpenOptions {
        source,
        read: read_options(),
        ..OpenOptions::default()
    };
    let opened = crate::source::open(&path.display().to_string(), &opts);
    let _ = std::fs::remove_file(&path);
    let image = opened.map_err(|e| e.to_string())?;
    examine(&image, data);
    Ok(())
}

/// Reads each part of the input as a layer blob, both the way streams are read and the way
/// seekable files are, then stacks them and examines the image.
fn stack_layers(data: &[u8]) -> Result<(), String> {
    let opts = read_options();
    let mut reads: Vec<LayerRead> = Vec::new();
    for (i, part) in split_layers(data).into_iter().enumerate() {
        let label = format!("layer {i}");
        let streamed = read_layer_stream(&label, part, &opts, true);
        let seeked = read_layer_seekable(&label, Cursor::new(part), &opts, true);
        // Both readers see the same tar: they must agree on what is in it.
        match (streamed, seeked) {
            (Ok(a), Ok(b)) => {
                assert_eq!(
                    a.changes.entries, b.changes.entries,
                    "{label}: streamed and seekable reads differ"
                );
                reads.push(b);
            }
            (Err(e), _) | (_, Err(e)) => return Err(e.to_string()),
        }
    }
    let layers = reads
        .into_iter()
        .enumerate()
        .map(|(index, read)| Layer {
            index,
            digest: read.blob_digest,
            diff_id: read.changes.diff_id.clone().unwrap_or_default(),
            compression: read.compression,
            blob_bytes: Some(read.blob_bytes),
            history: Some(HistoryEntry {
                created_by: format!("/bin/sh -c step {index}"),
                ..HistoryEntry::default()
            }),
            changes: read.changes,
        })
        .collect();
    let image = Image {
        reference: "fuzz".into(),
        source: SourceKind::Oci,
        id: "sha256:fuzz".into(),
        config: ImageConfig::default(),
        history: Vec::new(),
        layers,
        warnings: Vec::new(),
    };
    examine(&image, data);
    Ok(())
}

fn split_layers(data: &[u8]) -> Vec<&[u8]> {
    let mut parts = Vec::new();
    let mut rest = data;
    while parts.len() + 1 < MAX_LAYERS {
        match find(rest, LAYER_SEPARATOR) {
            Some(at) => {
                parts.push(&rest[..at]);
                rest = &rest[at + LAYER_SEPARATOR.len()..];
            }
            None => break,
        }
    }
    parts.push(rest);
    parts
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// Parses, applies the kinds of edit the proposal makes (to instructions the parse found, as
/// callers do), parses the result again, and matches history entries made from its own
/// instructions back to them.
fn dockerfile(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let df = Dockerfile::parse(&text);
    let mut edits = vec![Edit::AddEnv {
        assignment: "PIP_NO_CACHE_DIR=1".into(),
        why: "pip's cache ships in the layer".into(),
    }];
    for (n, ins) in df.instructions.iter().enumerate().take(8) {
        if ins.keyword == "RUN" {
            edits.push(Edit::AppendToRun {
                instruction: n,
                shell: "rm -rf /var/lib/apt/lists/*".into(),
                why: "apt lists".into(),
            });
        } else {
            edits.push(Edit::Note {
                instruction: n,
                text: "check this".into(),
            });
        }
    }
    let rewritten = rewrite::apply(&df, &edits);
    // The rewrite is a Dockerfile too.
    Dockerfile::parse(&rewritten);
    let _ = rewrite::unified_diff(&text, &rewritten, "Dockerfile");
    let copies = df
        .instructions
        .iter()
        .filter(|i| i.keyword == "COPY" || i.keyword == "ADD")
        .count();
    for (n, ins) in df.instructions.iter().enumerate().take(16) {
        let created_by = if ins.keyword == "RUN" {
            format!("/bin/sh -c {}", ins.args)
        } else {
            format!("/bin/sh -c #(nop) {} {}", ins.keyword, ins.args)
        };
        let history = HistoryEntry {
            created_by,
            ..HistoryEntry::default()
        };
        let found = df.instruction_for(&history, Some(copies.saturating_sub(n + 1)));
        if let Some(found) = found {
            assert!(
                found < df.instructions.len(),
                "instruction_for gave {found}, past the last instruction"
            );
        }
    }
}

pub use self::seeds::seeds;
