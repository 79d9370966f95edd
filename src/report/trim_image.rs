//! What a trimmed image saved, in words: sizes before and after, by layer and by category,
//! and what the Docker engine measured once it was loaded.

use std::fmt::Write as _;

use crate::core::image::Image;
use crate::core::trim_image::TrimPlan;
use crate::source::writer::rewrite::Rewritten;

use super::text::size;
use crate::text::clip_line as clip;

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
        let _ = writeln!(out, "removed, by category:");
        // A category whose paths another accepted finding already took shows nothing.
        for c in plan
            .categories
            .iter()
            .filter(|c| c.bytes > 0 || c.paths > 0)
        {
            let paths = if c.category == "wasted" {
                "hidden by later layers".to_owned()
            } else {
                format!("{} paths", c.paths)
            };
            let _ = writeln!(out, "  {:<20} {:>11}  {paths}", c.category, size(c.bytes));
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
