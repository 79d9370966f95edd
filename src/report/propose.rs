//! The text `pyslim propose` prints: where the proposal went, the size estimate layer by
//! layer, what changes for each finding, warnings, and (after a build) estimated against
//! measured sizes.

use std::fmt::Write;

use serde::Serialize;

use super::text::size;
use crate::core::propose::Proposal;

/// One runtime layer of the built proposal: estimated beside measured.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct MeasuredLayer {
    pub instruction: String,
    pub estimated: Option<u64>,
    pub measured: u64,
}

/// What `--build` found.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Measured {
    pub tag: String,
    pub image_id: String,
    pub total_bytes: u64,
    pub base_bytes: u64,
    pub layers: Vec<MeasuredLayer>,
    /// Measured against estimated total, as a signed fraction (0.05 = estimate 5 % high).
    pub estimate_error: f64,
    pub kept: bool,
    pub smoke: Option<SmokeResult>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct SmokeResult {
    pub command: Vec<String>,
    pub passed: bool,
    pub exit_code: i64,
    /// The end of what it printed.
    pub output: String,
}

fn signed(bytes: i64) -> String {
    if bytes < 0 {
        format!("-{}", size(bytes.unsigned_abs()))
    } else {
        size(bytes as u64)
    }
}

pub fn render(p: &Proposal, written: Option<&std::path::Path>) -> String {
    let mut out = String::new();
    let plan = &p.plan;
    let e = &p.estimate;
    let _ = writeln!(
        out,
        "pyslim proposal for {} (target {}, Python {}){}",
        p.image,
        plan.context.target.name(),
        plan.context.python_version,
        written
            .map(|w| format!(" → {}", w.display()))
            .unwrap_or_default()
    );
    let _ = writeln!(out, "  builder  {}", plan.stages.builder_base);
    let _ = writeln!(out, "  runtime  {}", plan.stages.runtime_base);
    let _ = writeln!(
        out,
        "  venv     {} made with {} ({})",
        plan.stages.venv, plan.stages.interpreter.path, plan.stages.interpreter.source
    );
    let _ = writeln!(out);
    let _ = writeln!(out, "Estimated size");
    let _ = writeln!(
        out,
        "  now       {:>10}  (base layers {}, yours {})",
        size(e.current_bytes),
        size(e.current_base_bytes),
        size(e.current_bytes - e.current_base_bytes)
    );
    let _ = writeln!(out, "  proposed  {:>10}", size(e.total_bytes));
    let base_source = match (e.base.source.as_str(), &e.base.date) {
        ("daemon", _) => "measured in the daemon".to_owned(),
        ("table", Some(d)) => format!("from the table of known bases, {d}"),
        _ => "size unknown".to_owned(),
    };
    let _ = writeln!(
        out,
        "    {:>10}  FROM {} ({base_source})",
        size(e.base.bytes),
        e.base.image
    );
    for l in &e.layers {
        let _ = writeln!(out, "    {:>10}  {}", size(l.bytes), l.instruction);
    }
    let pct = if e.current_bytes > 0 {
        e.saved_bytes as f64 / e.current_bytes as f64 * 100.0
    } else {
        0.0
    };
    let _ = writeln!(
        out,
        "  saved     {:>10}  ({pct:.0}% of the image)",
        signed(e.saved_bytes)
    );
    if !e.by_finding.is_empty() {
        let _ = writeln!(out);
        let _ = writeln!(out, "What changes, by finding");
        for f in &e.by_finding {
            let bytes = if f.bytes > 0 {
                size(f.bytes)
            } else {
                String::new()
            };
            let _ = writeln!(out, "  {:<24} {:>10}  {}", f.rule, bytes, f.action);
        }
    }
    if !plan.dockerignore.is_empty() {
        let _ = writeln!(out);
        let _ = writeln!(
            out,
            "Add to .dockerignore (pyslim does not write it): {}",
            plan.dockerignore.join(" ")
        );
    }
    if !plan.warnings.is_empty() {
        let _ = writeln!(out);
        let _ = writeln!(out, "Warnings");
        for w in &plan.warnings {
            let _ = writeln!(out, "  - {w}");
        }
    }
    out
}

pub fn render_measured(m: &Measured, estimated_total: u64) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "Built {} ({})", m.tag, short_id(&m.image_id));
    let _ = writeln!(out, "  {:>10}  {:>10}  layer", "estimated", "measured");
    for l in &m.layers {
        let est = l.estimated.map(size).unwrap_or_else(|| "-".into());
        let _ = writeln!(
            out,
            "  {:>10}  {:>10}  {}",
            est,
            size(l.measured),
            crate::format::clip(&l.instruction, 70)
        );
    }
    let _ = writeln!(
        out,
        "  {:>10}  {:>10}  total ({:+.1}% estimate error)",
        size(estimated_total),
        size(m.total_bytes),
        m.estimate_error * 100.0
    );
    if let Some(s) = &m.smoke {
        let _ = writeln!(
            out,
            "Smoke test `{}`: {} (exit {})",
            s.command.join(" "),
            if s.passed { "passed" } else { "FAILED" },
            s.exit_code
        );
        if !s.passed && !s.output.is_empty() {
            for line in s.output.lines() {
                let _ = writeln!(out, "  | {line}");
            }
        }
    }
    if m.kept {
        let _ = writeln!(out, "Kept the image {}", m.tag);
    } else {
        let _ = writeln!(out, "Removed the image {} (keep it with --keep)", m.tag);
    }
    out
}

fn short_id(id: &str) -> &str {
    let id = id.strip_prefix("sha256:").unwrap_or(id);
    &id[..id.len().min(12)]
}
