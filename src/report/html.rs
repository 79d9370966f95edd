//! `analyze --format html`: one self-contained page that opens offline. The data is embedded
//! as JSON and drawn by a small script of our own (assets/html/report.js, inlined): a
//! zoomable treemap of the final image coloured by layer or by finding category, a bar per
//! layer with its wasted bytes, the findings, the largest files and the inventory, and a
//! search box over paths. No CDN, no request leaves the file.

use std::fmt::Write;

use serde_json::{json, Value};

use super::text::size;
use crate::core::image::Image;
use crate::core::tree::{NodeId, Tree, ROOT};
use crate::core::Examination;

const SCRIPT: &str = include_str!("../../assets/html/report.js");
/// A directory or file below this share of the image is folded into its parent's
/// "(N smaller)" box: the page stays small however many files the image has.
const FOLD_SHARE: f64 = 0.001;
/// Deepest level the treemap keeps.
const MAX_DEPTH: usize = 14;

pub fn analysis(image: &Image, ex: &Examination) -> String {
    let a = &ex.analysis;
    let total = ex.tree.final_bytes.first().copied().unwrap_or(0);
    let min = ((total as f64) * FOLD_SHARE) as u64;
    let data = json!({
        "image": image.reference,
        "tree": node(&ex.tree, ROOT, min, 0),
        "layers": a.layers,
        "largest_files": a.largest_files,
        "findings": ex.findings.findings,
    });
    // `</` would end the script element early; JSON allows `<\/`.
    let data = data.to_string().replace("</", "<\\/");
    let t = &a.totals;
    let mut out = String::new();
    let _ = write!(
        out,
        r#"<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:">
<title>pyslim: {title}</title>
<style>{STYLE}</style></head><body>
<h1>pyslim: <code>{title}</code></h1>
<p class="headline"><b>{image_bytes}</b> in the image, {layer_bytes} carried by {layers} layers, {files} files;
wasted {wasted} ({wasted_pct:.1}%); reclaimable by the findings <b>{reclaimable}</b>.</p>
<input id="search" type="search" placeholder="Filter paths (e.g. site-packages/numpy)" aria-label="Filter paths">
<h2>Where the bytes are</h2>
<div class="bar-row"><button id="up" type="button">Up</button> <span id="crumbs"></span>
<label>Colour by <select id="colour"><option value="layer">layer</option><option value="category">finding category</option></select></label></div>
<div id="treemap"></div>
<h2>Layers</h2><div id="layers"></div>
<h2>Findings</h2><div id="findings"></div>
<h2>Largest files</h2><table><thead><tr><th>size</th><th>layer</th><th>path</th></tr></thead><tbody id="files"></tbody></table>
<h2>Inventory</h2>{inventory}
<script type="application/json" id="pyslim-data">{data}</script>
<script>{SCRIPT}</script>
</body></html>
"#,
        title = escape(&image.reference),
        image_bytes = size(t.image_bytes),
        layer_bytes = size(t.layer_bytes),
        layers = t.layers,
        files = t.files,
        wasted = size(t.wasted_bytes),
        wasted_pct = t.wasted_ratio * 100.0,
        reclaimable = size(ex.findings.reclaimable_bytes),
        inventory = inventory(ex),
    );
    out
}

/// One node of the treemap: name, path, bytes, the layer its final version came from, and
/// its children at least `min` bytes (the rest folded into one box).
fn node(tree: &Tree, id: NodeId, min: u64, depth: usize) -> Value {
    let n = tree.node(id);
    let bytes = tree.final_bytes.get(id as usize).copied().unwrap_or(0);
    let layer = tree.final_state(id).map(|e| e.layer).unwrap_or(0);
    let path = if id == ROOT {
        String::new()
    } else {
        tree.path(id)
    };
    let mut v = json!({ "n": &*n.name, "p": path, "b": bytes, "l": layer });
    if depth >= MAX_DEPTH || n.children.is_empty() {
        return v;
    }
    let mut kept = Vec::new();
    let (mut folded, mut folded_bytes) = (0usize, 0u64);
    let mut children: Vec<NodeId> = n
        .children
        .iter()
        .copied()
        .filter(|&c| tree.is_visible(c))
        .collect();
    children.sort_by_key(|&c| {
        std::cmp::Reverse(tree.final_bytes.get(c as usize).copied().unwrap_or(0))
    });
    for c in children {
        let b = tree.final_bytes.get(c as usize).copied().unwrap_or(0);
        if b >= min.max(1) {
            kept.push(node(tree, c, min, depth + 1));
        } else {
            folded += 1;
            folded_bytes += b;
        }
    }
    if folded > 0 && folded_bytes > 0 {
        let p = if v["p"] == "" {
            String::new()
        } else {
            format!("{}/", v["p"].as_str().unwrap_or(""))
        };
        kept.push(json!({ "n": format!("({folded} smaller)"), "p": format!("{p}…"), "b": folded_bytes, "l": layer }));
    }
    v["c"] = Value::Array(kept);
    v
}

fn inventory(ex: &Examination) -> String {
    let inv = &ex.inventory;
    let mut out = String::new();
    let os = inv
        .os
        .as_ref()
        .map(|o| o.pretty_name.as_str())
        .unwrap_or("unknown OS");
    let _ = write!(out, "<p>{}, libc {}</p>", escape(os), escape(&inv.libc));
    let _ = write!(out, "<details><summary>{} Python packages</summary><table><tr><th>name</th><th>version</th><th>size</th><th>location</th></tr>", inv.python_packages.len());
    let mut py: Vec<_> = inv.python_packages.iter().collect();
    py.sort_by_key(|p| std::cmp::Reverse(p.bytes));
    for p in py {
        let _ = write!(
            out,
            "<tr><td>{}</td><td>{}</td><td class=r>{}</td><td>{}</td></tr>",
            escape(&p.name),
            escape(&p.version),
            size(p.bytes),
            escape(&p.location)
        );
    }
    let _ = write!(out, "</table></details><details><summary>{} OS packages</summary><table><tr><th>name</th><th>version</th><th>size</th></tr>", inv.os_packages.len());
    let mut os_pkgs: Vec<_> = inv.os_packages.iter().collect();
    os_pkgs.sort_by_key(|p| std::cmp::Reverse(p.file_bytes));
    for p in os_pkgs {
        let _ = write!(
            out,
            "<tr><td>{}</td><td>{}</td><td class=r>{}</td></tr>",
            escape(&p.name),
            escape(&p.version),
            size(p.file_bytes)
        );
    }
    out.push_str("</table></details>");
    out
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

const STYLE: &str = "body{font:14px system-ui,sans-serif;margin:1.5em;color:#222}code{font-size:12px}
#treemap{position:relative;height:480px;border:1px solid #999;overflow:hidden}
.tm-box{position:absolute;box-sizing:border-box;border:1px solid rgba(255,255,255,.8);font-size:11px;overflow:hidden;white-space:nowrap;cursor:pointer}
.tm-label{position:absolute;left:3px;top:1px;pointer-events:none}
.layer{display:flex;gap:.6em;align-items:center;margin:2px 0}.layer .num{width:2em;text-align:right}
.track{position:relative;width:30%;height:14px;background:#eee}.bar,.waste{position:absolute;left:0;top:0;height:100%}
.waste{background:repeating-linear-gradient(45deg,#c00,#c00 3px,transparent 3px,transparent 6px)}
.sz{width:14em}.layer code{white-space:nowrap;overflow:hidden;text-overflow:ellipsis;max-width:50%}
table{border-collapse:collapse}td,th{padding:1px 8px;text-align:left}.r{text-align:right}
.finding summary{cursor:pointer;font-weight:600}.sev-critical summary,.sev-high summary{color:#b00}
.sev-medium summary{color:#a60}#search{width:30em;padding:4px;margin:.5em 0}";

/// A static page (no script): the shell every HTML report but analyze's uses.
fn page(title: &str, body: &str) -> String {
    format!(
        r#"<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<title>pyslim: {t}</title>
<style>{STYLE}
.add{{background:#e6ffec}}.del{{background:#ffebe9}}pre{{font-size:12px;border:1px solid #ccc;padding:.5em;overflow-x:auto}}</style></head><body>
<h1>pyslim: {t}</h1>
{body}
</body></html>
"#,
        t = escape(title)
    )
}

/// `compare --format html`: the variants side by side.
pub fn compare(c: &crate::core::compare::Comparison) -> String {
    let mut body = String::from("<table>");
    for (n, (label, vals)) in super::compare::variant_rows(c).iter().enumerate() {
        let cell = if n == 0 { "th" } else { "td" };
        let _ = write!(body, "<tr><th>{}</th>", escape(label.trim()));
        for v in vals {
            let _ = write!(body, "<{cell} class=r>{}</{cell}>", escape(v));
        }
        body.push_str("</tr>");
    }
    body.push_str("</table>");
    page("compare", &body)
}

/// `propose --format html`: the estimate, what changes, the proposed Dockerfile and its diff.
pub fn propose(p: &crate::core::propose::Proposal, written: &str) -> String {
    let e = &p.estimate;
    let mut body = String::new();
    let _ = write!(
        body,
        "<p>Proposal for <code>{}</code>, target {}, Python {}; written to <code>{}</code>.</p>\
         <table><tr><th>now</th><td class=r>{}</td></tr><tr><th>proposed (estimate)</th><td class=r><b>{}</b></td></tr>\
         <tr><th>saved</th><td class=r><b>{}</b></td></tr></table>",
        escape(&p.image),
        escape(p.plan.context.target.name()),
        escape(&p.plan.context.python_version),
        escape(written),
        size(e.current_bytes),
        size(e.total_bytes),
        super::baseline::signed_size(e.saved_bytes).trim_start_matches('+'),
    );
    if !e.by_finding.is_empty() {
        body.push_str("<h2>What changes, by finding</h2><table><tr><th>finding</th><th>bytes</th><th>what the proposal does</th></tr>");
        for f in &e.by_finding {
            let _ = write!(
                body,
                "<tr><td><code>{}</code></td><td class=r>{}</td><td>{}</td></tr>",
                escape(&f.rule),
                size(f.bytes),
                escape(&f.action)
            );
        }
        body.push_str("</table>");
    }
    body.push_str("<h2>Diff</h2><pre>");
    for line in p.diff.lines() {
        let class = match line.chars().next() {
            Some('+') if !line.starts_with("+++") => " class=add",
            Some('-') if !line.starts_with("---") => " class=del",
            _ => "",
        };
        let _ = writeln!(body, "<span{class}>{}</span>", escape(line));
    }
    let _ = write!(
        body,
        "</pre><h2>Proposed Dockerfile</h2><pre>{}</pre>",
        escape(&p.dockerfile)
    );
    page(&format!("proposal for {}", p.image), &body)
}
