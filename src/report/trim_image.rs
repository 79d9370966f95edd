//! What a trimmed image saved, in words: sizes before and after, by layer and by category,
//! and what the Docker engine measured once it was loaded.

use std::fmt::Write as _;

use crate::core::image::{HistoryEntry, Image};
use crate::core::trim_image::TrimPlan;
use crate::source::writer::rewrite::Rewritten;

use super::text::size;
use crate::format::clip_line as clip;

fn pct(part: u64, whole: u64) -> String {
    if whole == 0 {
        return "0.0%".into();
    }
    format!("{:.1}%", part as f64 * 100.0 / whole as f64)
}

/// The summary printed after writing a trimmed image.
pub fn summary(image: &Image, plan: &TrimPlan, written: &Rewritten, squash: bool) -> String {
    let mut out = String::new();
    let before = plan.bytes_before();
    let after: u64 = written.layers.iter().map(|l| l.content_bytes).sum();
    let _ = writeln!(
        out,
        "file bytes in layers: {} before, {} after ({} less, {})",
        size(before),
        size(after),
        size(before.saturating_sub(after)),
        pct(before.saturating_sub(after), before)
    );
    let tar_before: u64 = image.layers.iter().map(|l| l.changes.tar_bytes).sum();
    let tar_after: u64 = written.layers.iter().map(|l| l.tar_bytes).sum();
    let _ = writeln!(
        out,
        "layer tars: {} before, {} after; archive {}; image id {}",
        size(tar_before),
        size(tar_after),
        size(written.archive_bytes),
        &written.image_id
    );
    if !plan.categories.is_empty() {
        let _ = writeln!(
            out,
            "by category:               before        after      removed"
        );
        // Each row stands alone (removed = before − after); a file two categories claim (a
        // compiler's static library) is in both rows, so the rows can add up to more than
        // the image lost, which the line above states once.
        let mut overlap = false;
        for c in plan
            .categories
            .iter()
            .filter(|c| c.before > 0 || c.bytes > 0)
        {
            let removed = c.before.saturating_sub(c.after);
            overlap |= removed != c.bytes;
            let paths = if c.category == "wasted" {
                "hidden by later layers".to_owned()
            } else {
                format!("{} paths", c.paths)
            };
            let _ = writeln!(
                out,
                "  {:<18} {:>11}  {:>11}  {:>11}  {paths}",
                c.category,
                size(c.before),
                size(c.after),
                size(removed)
            );
        }
        if overlap {
            let _ = writeln!(
                out,
                "  (some files are in two categories and count in both rows; the image loses each once)"
            );
        }
    }
    let _ = writeln!(out, "by layer:            before        after  instruction");
    if squash {
        for (i, (l, keep)) in image.layers.iter().zip(&plan.layers).enumerate() {
            let _ = writeln!(
                out,
                "  {i:>2} {:>15}  {:>11}  {}",
                size(keep.bytes_before),
                "(squashed)",
                clip(&l.instruction(), 60)
            );
        }
        let _ = writeln!(
            out,
            "  squashed layer {:>24}  pyslim trim --squash",
            size(after)
        );
    } else {
        for (i, ((l, keep), w)) in image
            .layers
            .iter()
            .zip(&plan.layers)
            .zip(&written.layers)
            .enumerate()
        {
            let _ = writeln!(
                out,
                "  {i:>2} {:>15}  {:>11}  {}",
                size(keep.bytes_before),
                size(w.content_bytes),
                clip(&l.instruction(), 60)
            );
        }
    }
    for (key, why) in &plan.not_applied {
        let _ = writeln!(out, "not applied: {key}: {why}");
    }
    for note in &plan.notes {
        let _ = writeln!(out, "note: {note}");
    }
    out
}

/// Per-layer sizes of the trimmed image as the engine counts them, matched to its layers:
/// `history` is the engine's bytes per history step (oldest first) and `steps` the image's
/// history with the step pyslim added. `None` when they cannot be matched.
pub fn daemon_layers(history: &[u64], steps: &[HistoryEntry], layers: usize) -> Option<Vec<u64>> {
    if history.len() == steps.len() {
        let made: Vec<u64> = history
            .iter()
            .zip(steps)
            .filter(|(_, h)| !h.empty_layer)
            .map(|(&b, _)| b)
            .collect();
        if made.len() == layers {
            return Some(made);
        }
    }
    // No history in the config: the engine makes one step per layer.
    (history.len() == layers).then(|| history.to_vec())
}

/// What the engine measured after `--load`: the totals from inspect, and per layer from its
/// history, next to pyslim's own count of the layers' file bytes.
pub struct Measured<'a> {
    pub tag: &'a str,
    pub total: u64,
    pub original_total: Option<u64>,
    pub layers: Option<Vec<u64>>,
    pub original_layers: Option<Vec<u64>>,
}

pub fn measured(image: &Image, plan: &TrimPlan, squash: bool, m: &Measured) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "measured by the Docker daemon: {} {}{}",
        m.tag,
        size(m.total),
        m.original_total
            .map(|b| format!(
                " (the original: {}, {} less, {})",
                size(b),
                size(b.saturating_sub(m.total)),
                pct(b.saturating_sub(m.total), b)
            ))
            .unwrap_or_default()
    );
    let Some(layers) = &m.layers else {
        return out;
    };
    let _ = writeln!(
        out,
        "daemon, by layer:   original      trimmed  instruction"
    );
    if squash {
        let total: u64 = layers.iter().sum();
        let orig: Option<u64> = m.original_layers.as_ref().map(|l| l.iter().sum());
        let _ = writeln!(
            out,
            "  squashed {:>17}  {:>11}  pyslim trim --squash",
            orig.map(size).unwrap_or_else(|| "-".into()),
            size(total)
        );
        return out;
    }
    for (i, (l, after)) in image.layers.iter().zip(layers).enumerate() {
        let before = m
            .original_layers
            .as_ref()
            .and_then(|o| o.get(i).copied())
            .map(size)
            .unwrap_or_else(|| {
                format!(
                    "({})",
                    size(plan.layers.get(i).map_or(0, |k| k.bytes_before))
                )
            });
        let _ = writeln!(
            out,
            "  {i:>2} {:>15}  {:>11}  {}",
            before,
            size(*after),
            clip(&l.instruction(), 60)
        );
    }
    if m.original_layers.is_none() {
        let _ = writeln!(
            out,
            "  (in parentheses: pyslim's count of the original layer's file bytes; the original is not in the daemon)"
        );
    }
    out
}
