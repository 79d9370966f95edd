//! `pyslim check`: the CI gate. Each threshold is a small rule (key, limit, value, verdict),
//! as in dive's CI rules; the image passes when none fails. Every row says whose figures it
//! reads: dive's formulas (what `dive --ci` gates) or pyslim's (what `analyze` prints).

use std::fmt::Write;

use serde::Serialize;

use crate::config::{measure_of, CheckConfig, Limit, Measure};
use crate::core::analysis::Analysis;
use crate::core::findings::Findings;

use super::text::size;

#[derive(Debug, Clone, Serialize, PartialEq, schemars::JsonSchema)]
pub struct Verdict {
    pub key: &'static str,
    pub limit: String,
    pub value: String,
    /// `pass`, `fail` or `skip` (disabled).
    pub result: &'static str,
    /// Whose figure `value` is: `dive` (dive's formulas), `pyslim` (as `analyze` shows it)
    /// or `findings` (pyslim's findings).
    pub measure: &'static str,
}

/// The figures the thresholds read, both kinds side by side.
#[derive(Debug, Clone, Serialize, PartialEq, schemars::JsonSchema)]
pub struct Figures {
    pub dive: DiveFigures,
    pub pyslim: PyslimFigures,
}

#[derive(Debug, Clone, Serialize, PartialEq, schemars::JsonSchema)]
pub struct DiveFigures {
    pub efficiency: f64,
    pub wasted_bytes: u64,
    pub user_wasted_percent: f64,
}

#[derive(Debug, Clone, Serialize, PartialEq, schemars::JsonSchema)]
pub struct PyslimFigures {
    pub efficiency: f64,
    pub wasted_bytes: u64,
    pub wasted_percent: f64,
    pub bloat_bytes: u64,
}

#[derive(Debug, Clone, Serialize, PartialEq, schemars::JsonSchema)]
pub struct CheckReport {
    pub passed: bool,
    pub origin: String,
    /// The first five rows keep the order they always had; rows added later come after.
    pub verdicts: Vec<Verdict>,
    pub figures: Figures,
    /// With --baseline: this image against the baseline.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub baseline: Option<super::baseline::Baseline>,
}

impl CheckReport {
    /// Adds the comparison with a baseline and its growth threshold's row.
    pub fn with_baseline(
        mut self,
        baseline: super::baseline::Baseline,
        limit: Option<super::baseline::Growth>,
    ) -> Self {
        let row = super::baseline::verdict(limit, &baseline);
        self.passed &= row.result != "fail";
        self.verdicts.push(row);
        self.baseline = Some(baseline);
        self
    }
}

fn pct(x: f64) -> String {
    format!("{:.1}%", x * 100.0)
}

pub fn evaluate(cfg: &CheckConfig, a: &Analysis, f: &Findings) -> CheckReport {
    let mut verdicts = Vec::new();
    let ratio = |key: &'static str, limit: Limit<f64>, value: f64, lowest: bool| {
        let (limit_s, result) = match limit {
            Limit::Disabled => ("disabled".to_owned(), "skip"),
            Limit::At(l) => {
                let ok = if lowest { value >= l } else { value <= l };
                (pct(l), if ok { "pass" } else { "fail" })
            }
        };
        (key, limit_s, pct(value), result)
    };
    let bytes = |key: &'static str, limit: Limit<u64>, value: u64| {
        let (limit_s, result) = match limit {
            Limit::Disabled => ("disabled".to_owned(), "skip"),
            Limit::At(l) => (size(l), if value <= l { "pass" } else { "fail" }),
        };
        (key, limit_s, size(value), result)
    };
    let t = &a.totals;
    let rows = [
        ratio(
            "lowest-efficiency",
            cfg.lowest_efficiency,
            a.dive.efficiency,
            true,
        ),
        ratio(
            "highest-user-wasted-percent",
            cfg.highest_user_wasted_percent,
            a.dive.user_wasted_percent,
            false,
        ),
        bytes(
            "highest-wasted-bytes",
            cfg.highest_wasted_bytes,
            a.dive.wasted_bytes,
        ),
        bytes(
            "highest-bloat-bytes",
            cfg.highest_bloat_bytes,
            f.reclaimable_bytes,
        ),
        fail_on(cfg, f),
        ratio(
            "lowest-pyslim-efficiency",
            cfg.lowest_pyslim_efficiency,
            t.efficiency,
            true,
        ),
        ratio(
            "highest-pyslim-wasted-percent",
            cfg.highest_pyslim_wasted_percent,
            t.wasted_ratio,
            false,
        ),
        bytes(
            "highest-pyslim-wasted-bytes",
            cfg.highest_pyslim_wasted_bytes,
            t.wasted_bytes,
        ),
    ];
    for (key, limit, value, result) in rows {
        verdicts.push(Verdict {
            key,
            limit,
            value,
            result,
            measure: measure_of(key).as_str(),
        });
    }
    CheckReport {
        passed: verdicts.iter().all(|v| v.result != "fail"),
        origin: cfg.origin.clone(),
        verdicts,
        figures: Figures {
            dive: DiveFigures {
                efficiency: a.dive.efficiency,
                wasted_bytes: a.dive.wasted_bytes,
                user_wasted_percent: a.dive.user_wasted_percent,
            },
            pyslim: PyslimFigures {
                efficiency: t.efficiency,
                wasted_bytes: t.wasted_bytes,
                wasted_percent: t.wasted_ratio,
                bloat_bytes: f.reclaimable_bytes,
            },
        },
        baseline: None,
    }
}

/// A name in `fail-on` is a category or a rule id (config validated that it is one).
fn fail_on(cfg: &CheckConfig, f: &Findings) -> (&'static str, String, String, &'static str) {
    let present: Vec<String> = cfg
        .fail_on
        .iter()
        .filter_map(|c| {
            let n = f
                .findings
                .iter()
                .filter(|x| &x.category == c || &x.rule == c)
                .count();
            (n > 0).then(|| format!("{c} ({n})"))
        })
        .collect();
    let limit = if cfg.fail_on.is_empty() {
        "none".into()
    } else {
        cfg.fail_on.join(", ")
    };
    let value = if present.is_empty() {
        "none present".into()
    } else {
        present.join(", ")
    };
    let result = if cfg.fail_on.is_empty() {
        "skip"
    } else if present.is_empty() {
        "pass"
    } else {
        "fail"
    };
    ("fail-on", limit, value, result)
}

/// Rows by measure: dive's, then pyslim's figures, then the findings.
const ORDER: [Measure; 3] = [Measure::Dive, Measure::Pyslim, Measure::Findings];

pub fn render(r: &CheckReport, image: &str) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "Check of {image} (thresholds from {})", r.origin);
    let _ = writeln!(
        out,
        "  {:<31} {:<9} {:<20} {:<28} result",
        "threshold", "measure", "limit", "value"
    );
    for m in ORDER {
        for v in r.verdicts.iter().filter(|v| v.measure == m.as_str()) {
            let _ = writeln!(
                out,
                "  {:<31} {:<9} {:<20} {:<28} {}",
                v.key,
                v.measure,
                v.limit,
                v.value,
                v.result.to_uppercase()
            );
        }
    }
    for v in r.verdicts.iter().filter(|v| v.measure == "baseline") {
        let _ = writeln!(
            out,
            "  {:<31} {:<9} {:<20} {:<28} {}",
            v.key,
            v.measure,
            v.limit,
            v.value,
            v.result.to_uppercase()
        );
    }
    let _ = writeln!(
        out,
        "  measure: dive = dive's formulas, as `dive --ci` computes them; pyslim = as `pyslim analyze` shows them"
    );
    if let Some(b) = &r.baseline {
        render_baseline(&mut out, b);
    }
    let _ = writeln!(out, "{}", if r.passed { "PASS" } else { "FAIL" });
    out
}

fn render_baseline(out: &mut String, b: &super::baseline::Baseline) {
    let _ = writeln!(
        out,
        "Against {}: {} ({:+.1}%, from {})",
        b.image,
        super::baseline::signed_size(b.size_change),
        b.size_change_ratio * 100.0,
        size(b.image_bytes)
    );
    for (word, list) in [("new", &b.new_findings), ("fixed", &b.fixed_findings)] {
        if list.is_empty() {
            let _ = writeln!(out, "  {word} findings: none");
        }
        for f in list {
            let _ = writeln!(
                out,
                "  {word:<5}  [{}] {} ({}) {}",
                f.severity,
                f.title,
                f.rule,
                size(f.bytes)
            );
        }
    }
}
