//! Figures computed from the merged tree: sizes, wasted bytes, efficiency, and dive's own
//! figures beside ours. A pure function of the image and its tree; reports only read it.

use serde::Serialize;

use super::entry::EntryKind;
use super::image::{Compression, Image};
use super::tree::{Change, Tree};

#[derive(Debug, Clone, Serialize, PartialEq)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Analysis {
    pub totals: Totals,
    pub layers: Vec<LayerStats>,
    /// Largest files of the final image.
    pub largest_files: Vec<PathBytes>,
    /// Bytes that ship but cannot be seen, by path, largest first.
    pub wasted_paths: Vec<WastedPath>,
    pub dive: DiveFigures,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Totals {
    pub layers: usize,
    /// Files, symlinks and other non-directories in the final image.
    pub files: u64,
    pub directories: u64,
    /// Bytes of file content the final image shows (hardlinked content once).
    pub image_bytes: u64,
    /// Bytes of file content all layers carry.
    pub layer_bytes: u64,
    /// layer_bytes - image_bytes: overwritten or deleted by a later layer, or written twice.
    pub wasted_bytes: u64,
    /// wasted_bytes / layer_bytes.
    pub wasted_ratio: f64,
    /// image_bytes / layer_bytes (1 when no layer carries anything).
    pub efficiency: f64,
    /// Uncompressed tar bytes of all layers.
    pub tar_bytes: u64,
    /// Stored blob bytes of all layers, where the source knows them.
    pub blob_bytes: Option<u64>,
    /// Whose figures these are: always `pyslim` (dive's are under `dive`), so a reader of
    /// the JSON can tell the two efficiencies apart.
    pub measure: &'static str,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct LayerStats {
    pub index: usize,
    pub instruction: String,
    pub created_by: String,
    pub digest: Option<String>,
    pub diff_id: String,
    pub compression: Compression,
    pub blob_bytes: Option<u64>,
    pub tar_bytes: u64,
    /// Bytes of file content in this layer's tar.
    pub content_bytes: u64,
    pub entries: usize,
    pub added: u64,
    pub modified: u64,
    pub deleted: u64,
    /// Bytes this layer carries that a later layer hides (or this layer wrote twice).
    pub wasted_bytes: u64,
    /// Bytes of lower layers (or of this one) that this layer's changes hide.
    pub hidden_bytes: u64,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct PathBytes {
    pub path: String,
    pub bytes: u64,
    pub kind: EntryKind,
    /// The layer whose version the final image shows.
    pub layer: u32,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct WastedPath {
    pub path: String,
    pub bytes: u64,
    /// Copies of this path's content that are hidden.
    pub copies: u32,
    /// Layers that wrote the hidden copies.
    pub written_by: Vec<u32>,
    /// Layers whose changes hid them.
    pub hidden_by: Vec<u32>,
}

/// dive's own figures, computed by its formulas (dive/filetree/efficiency.go and
/// dive/image/analysis.go) so users can compare: they are not pyslim's measure of waste.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct DiveFigures {
    /// Σ(smallest size of each path across layers) / Σ(all sizes of each path across layers).
    pub efficiency: f64,
    /// Σ of every copy of any path seen in two or more layers, the surviving copy included.
    pub wasted_bytes: u64,
    /// Σ layer content bytes.
    pub image_bytes: u64,
    /// Σ layer content bytes but the first layer's.
    pub user_bytes: u64,
    /// wasted_bytes / user_bytes (0 when there is no layer above the first).
    pub user_wasted_percent: f64,
    /// Whose figures these are: always `dive`.
    pub measure: &'static str,
}

/// How many rows the path lists keep.
pub const DEFAULT_TOP: usize = 20;

pub fn analyze(image: &Image, tree: &Tree, top: usize) -> Analysis {
    let layer_count = image.layers.len();
    let mut added = vec![0u64; layer_count];
    let mut modified = vec![0u64; layer_count];
    let mut deleted = vec![0u64; layer_count];
    for node in tree.nodes.iter().skip(1) {
        for e in &node.events {
            let slot = match e.change {
                Change::Added => &mut added,
                Change::Modified => &mut modified,
                Change::Deleted => &mut deleted,
            };
            slot[e.layer as usize] += 1;
        }
    }
    let mut wasted_by_layer = vec![0u64; layer_count];
    let mut hidden_by_layer = vec![0u64; layer_count];
    let mut layer_bytes = 0u64;
    let mut image_bytes = 0u64;
    for ino in &tree.inodes {
        layer_bytes += ino.size;
        if ino.visible() {
            image_bytes += ino.size;
        } else {
            wasted_by_layer[ino.layer as usize] += ino.size;
            if let Some(h) = ino.hidden_by {
                hidden_by_layer[h as usize] += ino.size;
            }
        }
    }
    let wasted_bytes = layer_bytes - image_bytes;

    let layers: Vec<LayerStats> = image
        .layers
        .iter()
        .enumerate()
        .map(|(i, l)| LayerStats {
            index: i,
            instruction: l.instruction(),
            created_by: l
                .history
                .as_ref()
                .map(|h| h.created_by.clone())
                .unwrap_or_default(),
            digest: l.digest.clone(),
            diff_id: l.diff_id.clone(),
            compression: l.compression,
            blob_bytes: l.blob_bytes,
            tar_bytes: l.changes.tar_bytes,
            content_bytes: l.content_bytes(),
            entries: l.changes.entries.len()
                + l.changes.whiteouts.len()
                + l.changes.opaque_dirs.len(),
            added: added[i],
            modified: modified[i],
            deleted: deleted[i],
            wasted_bytes: wasted_by_layer[i],
            hidden_bytes: hidden_by_layer[i],
        })
        .collect();

    let (mut files, mut directories) = (0u64, 0u64);
    let mut largest: Vec<(u64, u32, EntryKind, u32)> = Vec::new();
    for id in tree.final_nodes() {
        let Some(e) = tree.final_state(id) else {
            continue;
        };
        if e.kind == EntryKind::Dir {
            directories += 1;
        } else {
            files += 1;
            if e.kind == EntryKind::File {
                largest.push((e.size, id, e.kind, e.layer));
            }
        }
    }
    // Largest first; ties in path order so every source lists the same rows. Paths are
    // built only for the rows that can make the list.
    largest.sort_unstable_by_key(|a| std::cmp::Reverse(a.0));
    let cutoff = largest.get(top.saturating_sub(1)).map(|r| r.0).unwrap_or(0);
    let mut largest: Vec<PathBytes> = largest
        .into_iter()
        .take_while(|r| top > 0 && r.0 >= cutoff)
        .map(|(bytes, id, kind, layer)| PathBytes {
            path: tree.path(id),
            bytes,
            kind,
            layer,
        })
        .collect();
    largest.sort_by(|a, b| b.bytes.cmp(&a.bytes).then_with(|| a.path.cmp(&b.path)));
    largest.truncate(top);

    let wasted_paths = wasted_paths(tree, top);
    let blob_bytes = image
        .layers
        .iter()
        .map(|l| l.blob_bytes)
        .sum::<Option<u64>>();
    let totals = Totals {
        layers: layer_count,
        files,
        directories,
        image_bytes,
        layer_bytes,
        wasted_bytes,
        wasted_ratio: ratio(wasted_bytes, layer_bytes, 0.0),
        efficiency: ratio(image_bytes, layer_bytes, 1.0),
        tar_bytes: image.layers.iter().map(|l| l.changes.tar_bytes).sum(),
        blob_bytes,
        measure: "pyslim",
    };
    Analysis {
        totals,
        dive: dive_figures(image, tree),
        layers,
        largest_files: largest,
        wasted_paths,
    }
}

fn ratio(num: u64, den: u64, if_empty: f64) -> f64 {
    if den == 0 {
        if_empty
    } else {
        num as f64 / den as f64
    }
}

fn wasted_paths(tree: &Tree, top: usize) -> Vec<WastedPath> {
    let mut by_node: rustc_hash::FxHashMap<u32, WastedPath> = Default::default();
    for ino in tree.inodes.iter().filter(|i| !i.visible()) {
        let w = by_node.entry(ino.node).or_insert_with(|| WastedPath {
            path: String::new(),
            bytes: 0,
            copies: 0,
            written_by: Vec::new(),
            hidden_by: Vec::new(),
        });
        w.bytes += ino.size;
        w.copies += 1;
        if !w.written_by.contains(&ino.layer) {
            w.written_by.push(ino.layer);
        }
        if let Some(h) = ino.hidden_by {
            if !w.hidden_by.contains(&h) {
                w.hidden_by.push(h);
            }
        }
    }
    let mut out: Vec<WastedPath> = by_node
        .into_iter()
        .filter(|(_, w)| w.bytes > 0)
        .map(|(id, mut w)| {
            w.path = tree.path(id);
            w.written_by.sort_unstable();
            w.hidden_by.sort_unstable();
            w
        })
        .collect();
    out.sort_by(|a, b| b.bytes.cmp(&a.bytes).then_with(|| a.path.cmp(&b.path)));
    out.truncate(top);
    out
}

fn dive_figures(image: &Image, tree: &Tree) -> DiveFigures {
    let (mut min_sum, mut all_sum, mut wasted) = (0u64, 0u64, 0u64);
    for stat in tree.dive_paths.values() {
        min_sum += stat.min;
        all_sum += stat.cumulative;
        if stat.occurrences >= 2 {
            wasted += stat.cumulative;
        }
    }
    let sizes: Vec<u64> = image.layers.iter().map(|l| l.content_bytes()).collect();
    let image_bytes: u64 = sizes.iter().sum();
    let user_bytes: u64 = sizes.iter().skip(1).sum();
    DiveFigures {
        efficiency: ratio(min_sum, all_sum, 1.0),
        wasted_bytes: wasted,
        image_bytes,
        user_bytes,
        user_wasted_percent: ratio(wasted, user_bytes, 0.0),
        measure: "dive",
    }
}
