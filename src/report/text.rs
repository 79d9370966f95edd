//! The text form of `pyslim analyze`: what a person reads in a terminal or a CI log.

use std::fmt::Write;

use crate::core::analysis::Analysis;
use crate::core::findings::Findings;
use crate::core::image::Image;
use crate::core::inventory::Inventory;
use crate::core::Examination;

pub use crate::format::size;

fn pct(x: f64) -> String {
    format!("{:.1}%", x * 100.0)
}

use crate::format::clip_line as clip;

pub fn render(image: &Image, ex: &Examination) -> String {
    let mut out = render_analysis(image, &ex.analysis);
    render_inventory(&mut out, &ex.inventory);
    render_findings(&mut out, &ex.findings);
    if !ex.warnings.is_empty() {
        let _ = writeln!(out);
        let _ = writeln!(out, "Warnings");
        for w in &ex.warnings {
            let _ = writeln!(out, "  {w}");
        }
    }
    out
}

fn render_inventory(out: &mut String, inv: &Inventory) {
    let _ = writeln!(out);
    let os = inv
        .os
        .as_ref()
        .map(|o| o.pretty_name.clone())
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "unknown OS".into());
    let _ = writeln!(
        out,
        "Contents  {os}, libc {}, {} OS packages ({}), {} Python packages",
        inv.libc,
        inv.os_packages.len(),
        inv.package_manager_db,
        inv.python_packages.len()
    );
    for i in &inv.interpreters {
        let from = i
            .package
            .as_deref()
            .map(|p| format!(" (package {p})"))
            .unwrap_or_default();
        let _ = writeln!(out, "  Python {} at /{}{from}", i.version, i.path);
    }
    for v in &inv.venvs {
        let _ = writeln!(
            out,
            "  venv /{} → home {} (Python {})",
            v.path, v.home, v.version
        );
    }
}

fn render_findings(out: &mut String, f: &Findings) {
    let _ = writeln!(out);
    if f.findings.is_empty() {
        let _ = writeln!(out, "Findings  none");
        return;
    }
    let _ = writeln!(
        out,
        "Findings  {} reclaimable (each byte counted once)",
        size(f.reclaimable_bytes)
    );
    for c in &f.categories {
        let _ = writeln!(
            out,
            "  {:<22} {:>10}  {} finding{}",
            c.category,
            size(c.bytes),
            c.findings,
            if c.findings == 1 { "" } else { "s" }
        );
    }
    for x in &f.findings {
        let _ = writeln!(out);
        let bytes = if x.bytes > 0 {
            format!("  {}", size(x.bytes))
        } else {
            String::new()
        };
        let _ = writeln!(
            out,
            "[{}] {} ({}){bytes}",
            x.severity.as_str(),
            x.title,
            x.rule
        );
        let _ = writeln!(out, "  {}", x.summary);
        for l in x.layers.iter().take(2) {
            let _ = writeln!(
                out,
                "  layer {} ({}): {}",
                l.layer,
                size(l.bytes),
                clip(&l.instruction, 80)
            );
        }
        for i in x.items.iter().take(5) {
            let b = if i.bytes > 0 {
                format!("{:>10}  ", size(i.bytes))
            } else {
                String::new()
            };
            let note = if i.note.is_empty() {
                String::new()
            } else {
                format!("  ({})", i.note)
            };
            let _ = writeln!(out, "    {b}{}{note}", i.name);
        }
        let _ = writeln!(out, "  why: {}", x.why);
        let _ = writeln!(out, "  fix: {}", x.fix);
    }
}

/// Sizes, layers, largest files and wasted bytes.
pub fn render_analysis(image: &Image, a: &Analysis) -> String {
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
        "Wasted   {} ({} of what the layers carry)   efficiency {}   (pyslim's figures; dive's below)",
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
        "dive's figures (dive's formulas, as `dive` and `check`'s default thresholds compute them): efficiency {}, wasted {}, user wasted {}",
        pct(a.dive.efficiency),
        size(a.dive.wasted_bytes),
        pct(a.dive.user_wasted_percent)
    );
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
