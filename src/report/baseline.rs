//! `pyslim check IMAGE --baseline OTHER`: the image against the one its branch started from.
//! The size change, the findings that are new and those that are fixed (a finding is its
//! rule: the same rule firing on both is neither), and a threshold on growth.

use schemars::JsonSchema;
use serde::Serialize;

use super::check::Verdict;
use super::text::size;
use crate::config::Limit;
use crate::core::findings::{Finding, Findings};
use crate::core::Examination;

#[derive(Debug, Clone, Serialize, PartialEq, JsonSchema)]
pub struct Baseline {
    /// The baseline image, as it was named.
    pub image: String,
    /// Bytes the baseline's final image shows.
    pub image_bytes: u64,
    /// This image's bytes minus the baseline's (negative when it shrank).
    pub size_change: i64,
    /// size_change / the baseline's bytes (0 for an empty baseline).
    pub size_change_ratio: f64,
    /// Findings (by rule) this image has and the baseline has not.
    pub new_findings: Vec<FindingRef>,
    /// Findings (by rule) the baseline has and this image has not.
    pub fixed_findings: Vec<FindingRef>,
}

#[derive(Debug, Clone, Serialize, PartialEq, JsonSchema)]
pub struct FindingRef {
    pub rule: String,
    pub title: String,
    pub severity: String,
    pub bytes: u64,
}

/// `--highest-size-increase`: bytes, or a share of the baseline's size.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Growth {
    Bytes(Limit<u64>),
    Ratio(Limit<f64>),
}

impl Growth {
    /// `20MB`, `20MiB`, `5%`, `0.05` is a ratio only with `%`; or `disabled`.
    pub fn parse(value: &str) -> crate::Result<Self> {
        let key = "highest-size-increase";
        if value.trim().ends_with('%') {
            crate::config::parse_ratio("--highest-size-increase", key, value).map(Self::Ratio)
        } else {
            crate::config::parse_size("--highest-size-increase", key, value).map(Self::Bytes)
        }
    }
}

pub fn compare(baseline_ref: &str, baseline: &Examination, ex: &Examination) -> Baseline {
    let before = baseline.analysis.totals.image_bytes;
    let after = ex.analysis.totals.image_bytes;
    let size_change = after as i64 - before as i64;
    Baseline {
        image: baseline_ref.to_owned(),
        image_bytes: before,
        size_change,
        size_change_ratio: if before > 0 {
            size_change as f64 / before as f64
        } else {
            0.0
        },
        new_findings: only_in(&ex.findings, &baseline.findings),
        fixed_findings: only_in(&baseline.findings, &ex.findings),
    }
}

fn only_in(these: &Findings, not_these: &Findings) -> Vec<FindingRef> {
    let has = |f: &Finding| not_these.findings.iter().any(|o| o.rule == f.rule);
    these
        .findings
        .iter()
        .filter(|f| !has(f))
        .map(|f| FindingRef {
            rule: f.rule.clone(),
            title: f.title.clone(),
            severity: f.severity.as_str().to_owned(),
            bytes: f.bytes,
        })
        .collect()
}

/// `+12.3 MiB` or `-4 KiB`.
pub fn signed_size(bytes: i64) -> String {
    if bytes < 0 {
        format!("-{}", size(bytes.unsigned_abs()))
    } else {
        format!("+{}", size(bytes as u64))
    }
}

/// The growth threshold's row (skipped when disabled or not given).
pub fn verdict(limit: Option<Growth>, b: &Baseline) -> Verdict {
    let value = format!(
        "{} ({:+.1}%)",
        signed_size(b.size_change),
        b.size_change_ratio * 100.0
    );
    let (limit, result) = match limit {
        None | Some(Growth::Bytes(Limit::Disabled)) | Some(Growth::Ratio(Limit::Disabled)) => {
            ("disabled".to_owned(), "skip")
        }
        Some(Growth::Bytes(Limit::At(l))) => (
            size(l),
            if b.size_change <= l as i64 {
                "pass"
            } else {
                "fail"
            },
        ),
        Some(Growth::Ratio(Limit::At(l))) => (
            format!("{:.1}%", l * 100.0),
            if b.size_change_ratio <= l {
                "pass"
            } else {
                "fail"
            },
        ),
    };
    Verdict {
        key: "highest-size-increase",
        limit,
        value,
        result,
        measure: "baseline",
    }
}
