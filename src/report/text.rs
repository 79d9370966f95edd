//! The text form of `pyslim analyze`: what a person reads in a terminal or a CI log.

use std::fmt::Write;

use humansize::{format_size, BINARY};

use crate::core::analysis::Analysis;
use crate::core::image::Image;

pub fn size(bytes: u64) -> String {
    format_size(bytes, BINARY)
}

fn pct(x: f64) -> String {
    format!("{:.1}%", x * 100.0)
}

/// Shortens an instruction to fit a column, on a character boundary.
fn clip(s: &str, width: usize) -> String {
    let one_line = s.split_whitespace().collect::<Vec<_>>().join(" ");
    if one_line.chars().count() <= width {
        one_line
    } else {
        let mut out: String = one_line.chars().take(width.saturating_sub(1)).collect();
        out.push('…');
        out
    }
}

pub fn render(image: &Image, a: &Analysis, warnings: &[String]) -> String {
    let mut out = String::new();
    let t = &a.totals;
    let _ = writeln!(
        out,
        "Image    {} ({}, {})",
        image.reference,
        image.source.as_str(),
        short_id(&image.id)
    );
    let user = if image.config.user.is_empty() {
        "root (unset)"
    } else {
        &image.config.user
    };
    let _ = writeln!(out, "Runs as  {user}");
    let _ = writeln!(
        out,
        "Size     {} in the image, {} carried by {} layers, {} files, {} directories",
        size(t.image_bytes),
        size(t.layer_bytes),
        t.layers,
        t.files,
        t.directories
    );
    let _ = writeln!(
        out,
        "Wasted   {} ({} of what the layers carry)   efficiency {}",
        size(t.wasted_bytes),
        pct(t.wasted_ratio),
        pct(t.efficiency)
    );
    let _ = writeln!(out);
    let _ = writeln!(out, "Layers");
    let _ = writeln!(out, "    #        size      wasted   files  instruction");
    for l in &a.layers {
        let _ = writeln!(
            out,
            "  {:>3}  {:>10}  {:>10}  {:>6}  {}",
            l.index,
            size(l.content_bytes),
            if l.wasted_bytes > 0 {
                size(l.wasted_bytes)
            } else {
                "-".into()
            },
            l.entries,
            clip(&l.instruction, 90)
        );
    }
    if !a.largest_files.is_empty() {
        let _ = writeln!(out);
        let _ = writeln!(out, "Largest files");
        for p in &a.largest_files {
            let _ = writeln!(
                out,
                "  {:>10}  layer {:>2}  /{}",
                size(p.bytes),
                p.layer,
                p.path
            );
        }
    }
    if !a.wasted_paths.is_empty() {
        let _ = writeln!(out);
        let _ = writeln!(out, "Wasted bytes (ship in a layer, hidden by a later one)");
        for w in &a.wasted_paths {
            let _ = writeln!(
                out,
                "  {:>10}  written by layer {}, hidden by layer {}  /{}",
                size(w.bytes),
                join(&w.written_by),
                join(&w.hidden_by),
                w.path
            );
        }
    }
    let _ = writeln!(out);
    let _ = writeln!(
        out,
        "dive's figures (its formulas, for comparison): efficiency {}, wasted {}, user wasted {}",
        pct(a.dive.efficiency),
        size(a.dive.wasted_bytes),
        pct(a.dive.user_wasted_percent)
    );
    if !warnings.is_empty() {
        let _ = writeln!(out);
        let _ = writeln!(out, "Warnings");
        for w in warnings {
            let _ = writeln!(out, "  {w}");
        }
    }
    out
}

fn join(layers: &[u32]) -> String {
    layers
        .iter()
        .map(u32::to_string)
        .collect::<Vec<_>>()
        .join(",")
}

fn short_id(id: &str) -> &str {
    let hex = id.strip_prefix("sha256:").unwrap_or(id);
    &hex[..hex.len().min(12)]
}
