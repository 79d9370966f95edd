//! `pyslim check`: the CI gate. Each threshold is a small rule (key, limit, value, verdict),
//! as in dive's CI rules; the image passes when none fails.

use std::fmt::Write;

use serde::Serialize;

use crate::config::{CheckConfig, Limit};
use crate::core::analysis::Analysis;
use crate::core::findings::Findings;

use super::text::size;

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Verdict {
    pub key: &'static str,
    pub limit: String,
    pub value: String,
    /// `pass`, `fail` or `skip` (disabled).
    pub result: &'static str,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct CheckReport {
    pub passed: bool,
    pub origin: String,
    pub verdicts: Vec<Verdict>,
}

fn pct(x: f64) -> String {
    format!("{:.1}%", x * 100.0)
}

pub fn evaluate(cfg: &CheckConfig, a: &Analysis, f: &Findings) -> CheckReport {
    let mut verdicts = Vec::new();
    let mut ratio = |key, limit: Limit<f64>, value: f64, lowest: bool| {
        let (limit_s, result) = match limit {
            Limit::Disabled => ("disabled".to_owned(), "skip"),
            Limit::At(l) => {
                let ok = if lowest { value >= l } else { value <= l };
                (pct(l), if ok { "pass" } else { "fail" })
            }
        };
        verdicts.push(Verdict {
            key,
            limit: limit_s,
            value: pct(value),
            result,
        });
    };
    ratio(
        "lowest-efficiency",
        cfg.lowest_efficiency,
        a.dive.efficiency,
        true,
    );
    ratio(
        "highest-user-wasted-percent",
        cfg.highest_user_wasted_percent,
        a.dive.user_wasted_percent,
        false,
    );
    let mut bytes = |key, limit: Limit<u64>, value: u64| {
        let (limit_s, result) = match limit {
            Limit::Disabled => ("disabled".to_owned(), "skip"),
            Limit::At(l) => (size(l), if value <= l { "pass" } else { "fail" }),
        };
        verdicts.push(Verdict {
            key,
            limit: limit_s,
            value: size(value),
            result,
        });
    };
    bytes(
        "highest-wasted-bytes",
        cfg.highest_wasted_bytes,
        a.dive.wasted_bytes,
    );
    bytes(
        "highest-bloat-bytes",
        cfg.highest_bloat_bytes,
        f.reclaimable_bytes,
    );
    let present: Vec<String> = cfg
        .fail_on
        .iter()
        .filter_map(|c| {
            let n = f.findings.iter().filter(|x| &x.category == c).count();
            (n > 0).then(|| format!("{c} ({n})"))
        })
        .collect();
    verdicts.push(Verdict {
        key: "fail-on",
        limit: if cfg.fail_on.is_empty() {
            "none".into()
        } else {
            cfg.fail_on.join(", ")
        },
        value: if present.is_empty() {
            "none present".into()
        } else {
            present.join(", ")
        },
        result: if cfg.fail_on.is_empty() {
            "skip"
        } else if present.is_empty() {
            "pass"
        } else {
            "fail"
        },
    });
    CheckReport {
        passed: verdicts.iter().all(|v| v.result != "fail"),
        origin: cfg.origin.clone(),
        verdicts,
    }
}

pub fn render(r: &CheckReport, image: &str) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "Check of {image} (thresholds from {})", r.origin);
    let _ = writeln!(
        out,
        "  {:<29} {:<22} {:<28} result",
        "threshold", "limit", "value"
    );
    for v in &r.verdicts {
        let _ = writeln!(
            out,
            "  {:<29} {:<22} {:<28} {}",
            v.key,
            v.limit,
            v.value,
            v.result.to_uppercase()
        );
    }
    let _ = writeln!(out, "{}", if r.passed { "PASS" } else { "FAIL" });
    out
}
