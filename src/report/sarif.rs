//! `pyslim check --format sarif`: SARIF 2.1.0 for code scanning. One rule per finding kind
//! (every enabled rule, with its why and fix as help text), one result per finding, levels
//! from severities. A result sits on the Dockerfile line that made the finding's largest
//! layer when a Dockerfile is given (`-f`, or ./Dockerfile) and the history maps to it (the
//! mapping propose and trim use), else on the image. assets/sarif/ holds the schema the tests
//! validate against.

use serde_json::{json, Value};

use super::check::CheckReport;
use super::text::size;
use crate::core::dockerfile::{layer_instructions, Dockerfile};
use crate::core::findings::{Finding, RuleSet, Severity};
use crate::core::image::Image;
use crate::core::Examination;

pub const SCHEMA_URI: &str = "https://json.schemastore.org/sarif-2.1.0.json";

/// The Dockerfile results are placed on: the path as the SARIF file names it (relative to
/// the repository root, as code scanning expects) and its text.
pub struct DockerfileRef<'a> {
    pub uri: &'a str,
    pub text: &'a str,
}

/// SARIF's three levels: errors block, warnings ask, notes inform.
pub fn level(s: Severity) -> &'static str {
    match s {
        Severity::Critical | Severity::High => "error",
        Severity::Medium => "warning",
        Severity::Low | Severity::Info => "note",
    }
}

/// GitHub ranks security results by this score (0-10).
fn security_severity(s: Severity) -> &'static str {
    match s {
        Severity::Critical => "9.5",
        Severity::High => "7.5",
        Severity::Medium => "5.0",
        Severity::Low => "3.0",
        Severity::Info => "1.0",
    }
}

pub fn render(
    report: &CheckReport,
    image: &Image,
    ex: &Examination,
    rules: &RuleSet,
    dockerfile: Option<DockerfileRef>,
) -> String {
    let enabled: Vec<_> = rules.enabled().collect();
    let descriptors: Vec<Value> = enabled
        .iter()
        .map(|r| {
            let mut properties = json!({ "category": r.category, "tags": [r.category] });
            if !r.bloat {
                // Posture and secrets are security results; bloat is not.
                properties["security-severity"] = json!(security_severity(r.severity));
                properties["tags"] = json!([r.category, "security"]);
            }
            json!({
                "id": r.id,
                "name": camel(&r.id),
                "shortDescription": { "text": r.title },
                "fullDescription": { "text": r.why },
                "help": {
                    "text": format!("{}\n\nFix: {}", r.why, r.fix),
                    "markdown": format!("{}\n\n**Fix:** {}", r.why, r.fix),
                },
                "defaultConfiguration": { "level": level(r.severity) },
                "properties": properties,
            })
        })
        .collect();
    let placed = dockerfile.as_ref().map(|d| {
        let df = Dockerfile::parse(d.text);
        let by_layer = layer_instructions(&df, image);
        (d.uri, df, by_layer)
    });
    let new_rules: Option<Vec<&str>> = report
        .baseline
        .as_ref()
        .map(|b| b.new_findings.iter().map(|f| f.rule.as_str()).collect());
    let results: Vec<Value> = ex
        .findings
        .findings
        .iter()
        .map(|f| {
            let mut result = json!({
                "ruleId": f.rule,
                "level": level(f.severity),
                "message": { "text": message(f) },
                "locations": [location(f, image, placed.as_ref())],
                // One rule may fire once per layer (wasted-bytes): the layer tells them apart.
                "partialFingerprints": { "pyslimFinding/v1": fingerprint(f) },
                "properties": { "bytes": f.bytes, "count": f.count, "category": f.category },
            });
            if let Some(i) = enabled.iter().position(|r| r.id == f.rule) {
                result["ruleIndex"] = json!(i);
            }
            if let Some(new) = &new_rules {
                let state = if new.contains(&f.rule.as_str()) {
                    "new"
                } else {
                    "unchanged"
                };
                result["baselineState"] = json!(state);
            }
            result
        })
        .collect();
    let failed: Vec<&str> = report
        .verdicts
        .iter()
        .filter(|v| v.result == "fail")
        .map(|v| v.key)
        .collect();
    let doc = json!({
        "$schema": SCHEMA_URI,
        "version": "2.1.0",
        "runs": [{
            "tool": { "driver": {
                "name": "pyslim",
                "version": env!("CARGO_PKG_VERSION"),
                "rules": descriptors,
            }},
            "invocations": [{
                "executionSuccessful": true,
                "exitCode": if report.passed { 0 } else { 1 },
            }],
            "results": results,
            "properties": {
                "image": image.reference,
                "passed": report.passed,
                "failedThresholds": failed,
                "reclaimableBytes": ex.findings.reclaimable_bytes,
            },
        }],
    });
    // Serialising a JSON value cannot fail.
    serde_json::to_string_pretty(&doc).unwrap_or_default()
}

fn fingerprint(f: &Finding) -> String {
    match f.layers.first() {
        Some(l) => format!("{}:{}", f.rule, l.instruction),
        None => f.rule.clone(),
    }
}

fn message(f: &Finding) -> String {
    let mut text = if f.bytes > 0 {
        format!("{} ({}): {}", f.title, size(f.bytes), f.summary)
    } else {
        format!("{}: {}", f.title, f.summary)
    };
    if let Some(l) = f.layers.first() {
        text.push_str(&format!(
            " Layer {}: {}.",
            l.layer,
            crate::format::clip_line(&l.instruction, 120)
        ));
    }
    text.push_str(&format!(" Fix: {}", f.fix));
    text
}

/// On the Dockerfile line that made the finding's largest layer, else on the image.
fn location(
    f: &Finding,
    image: &Image,
    placed: Option<&(&str, Dockerfile, Vec<Option<usize>>)>,
) -> Value {
    let layer = f.layers.first().map(|l| l.layer as usize);
    if let Some((uri, df, by_layer)) = placed {
        let instruction = layer
            .and_then(|n| by_layer.get(n).copied().flatten())
            .and_then(|i| df.instructions.get(i));
        if let Some(i) = instruction {
            return json!({
                "physicalLocation": {
                    "artifactLocation": { "uri": uri_escape(uri) },
                    "region": { "startLine": i.first_line + 1, "endLine": i.last_line + 1 },
                }
            });
        }
    }
    let what = f.items.first().map(|i| i.name.as_str()).unwrap_or_default();
    json!({
        "physicalLocation": {
            "artifactLocation": {
                "uri": uri_escape(&image.reference),
                "description": { "text": format!("the image {}", image.reference) },
            }
        },
        "logicalLocations": [{
            "name": what,
            "fullyQualifiedName": format!("{}:/{what}", image.reference),
            "kind": "resource",
        }],
    })
}

/// A path or image name as a URI reference: anything but unreserved and path characters is
/// percent-encoded (a colon too, so `app:latest` is not read as a scheme).
fn uri_escape(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' | b'/' | b'@' => {
                out.push(b as char)
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// `python-stdlib-tests` → `PythonStdlibTests`: SARIF's `name` is an identifier.
fn camel(id: &str) -> String {
    id.split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(|w| {
            let mut c = w.chars();
            c.next()
                .map(|first| first.to_ascii_uppercase().to_string() + c.as_str())
                .unwrap_or_default()
        })
        .collect()
}
