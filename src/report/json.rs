//! The JSON form of `pyslim analyze`. Its shape is documented in docs/json.md and
//! versioned by `schema`: fields may be added, never renamed or removed, within one version.

use serde::Serialize;

use crate::core::analysis::Analysis;
use crate::core::findings::Findings;
use crate::core::image::{Image, ImageConfig};
use crate::core::inventory::Inventory;
use crate::core::Examination;

pub const SCHEMA: &str = "pyslim.analysis/v1";

#[derive(Serialize)]
struct ImageInfo<'a> {
    reference: &'a str,
    source: &'a str,
    id: &'a str,
    config: &'a ImageConfig,
}

#[derive(Serialize)]
struct Document<'a> {
    schema: &'static str,
    image: ImageInfo<'a>,
    #[serde(flatten)]
    analysis: &'a Analysis,
    inventory: &'a Inventory,
    #[serde(flatten)]
    findings: &'a Findings,
    warnings: &'a [String],
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
    // Serialising plain data with string keys cannot fail.
    serde_json::to_string_pretty(&doc).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"))
}
