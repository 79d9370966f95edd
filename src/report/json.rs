//! The JSON documents pyslim writes: analyze, check, compare, propose. Each names its
//! `schema`; their shapes are documented in docs/json.md, their JSON Schemas (generated from
//! these types by report::schema) are in docs/schemas/. Within one version fields may be
//! added, never renamed or removed.

use schemars::JsonSchema;
use serde::Serialize;

use super::check::CheckReport;
use super::propose::Measured;
use crate::core::compare::Comparison;
use crate::core::propose::Proposal;

use crate::core::analysis::Analysis;
use crate::core::findings::Findings;
use crate::core::image::{Image, ImageConfig};
use crate::core::inventory::Inventory;
use crate::core::Examination;

pub const SCHEMA: &str = "pyslim.analysis/v1";
pub const CHECK_SCHEMA: &str = "pyslim.check/v1";
pub const COMPARE_SCHEMA: &str = "pyslim.compare/v1";
pub const PROPOSE_SCHEMA: &str = "pyslim.propose/v1";

#[derive(Serialize, JsonSchema)]
pub struct ImageInfo<'a> {
    reference: &'a str,
    source: &'a str,
    id: &'a str,
    config: &'a ImageConfig,
}

/// `pyslim analyze --format json`.
#[derive(Serialize, JsonSchema)]
pub struct Document<'a> {
    schema: &'static str,
    image: ImageInfo<'a>,
    #[serde(flatten)]
    analysis: &'a Analysis,
    inventory: &'a Inventory,
    #[serde(flatten)]
    findings: &'a Findings,
    warnings: &'a [String],
}

/// `pyslim check --format json`: the verdicts, and the image they are about.
#[derive(Serialize, JsonSchema)]
pub struct CheckDocument<'a> {
    schema: &'static str,
    /// The image as it was named.
    image: &'a str,
    #[serde(flatten)]
    report: &'a CheckReport,
}

/// `pyslim compare --format json`.
#[derive(Serialize, JsonSchema)]
pub struct CompareDocument<'a> {
    schema: &'static str,
    /// Layers read from their sources.
    layers_read: usize,
    /// Layers two or more variants share, read once.
    layers_shared: usize,
    comparison: &'a Comparison,
}

/// `pyslim propose --format json`.
#[derive(Serialize, JsonSchema)]
pub struct ProposeDocument<'a> {
    schema: &'static str,
    /// Where the proposed Dockerfile was written (`-` for stdout).
    output: String,
    proposal: &'a Proposal,
    /// With --build: the built proposal, measured.
    measured: Option<&'a Measured>,
}

fn pretty(doc: &impl Serialize) -> String {
    // Serialising plain data with string keys cannot fail.
    serde_json::to_string_pretty(doc).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"))
}

pub fn render_check(report: &CheckReport, image: &str) -> String {
    pretty(&CheckDocument {
        schema: CHECK_SCHEMA,
        image,
        report,
    })
}

pub fn render_compare(comparison: &Comparison, layers_read: usize, layers_shared: usize) -> String {
    pretty(&CompareDocument {
        schema: COMPARE_SCHEMA,
        layers_read,
        layers_shared,
        comparison,
    })
}

pub fn render_propose(proposal: &Proposal, output: &str, measured: Option<&Measured>) -> String {
    pretty(&ProposeDocument {
        schema: PROPOSE_SCHEMA,
        output: output.to_owned(),
        proposal,
        measured,
    })
}

pub fn render(image: &Image, ex: &Examination) -> String {
    let doc = Document {
        schema: SCHEMA,
        image: ImageInfo {
            reference: &image.reference,
            source: image.source.as_str(),
            id: &image.id,
            config: &image.config,
        },
        analysis: &ex.analysis,
        inventory: &ex.inventory,
        findings: &ex.findings,
        warnings: &ex.warnings,
    };
    pretty(&doc)
}
