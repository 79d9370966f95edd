//! Markdown for a pull request: a comment or `$GITHUB_STEP_SUMMARY`. Headline numbers, the
//! layers, the top findings with their fix, the check verdict. GitHub refuses a comment past
//! 65,536 characters, so every list is capped and the whole is cut at `LIMIT` as a last guard.

use std::fmt::Write;

use crate::core::compare::Comparison;
use crate::core::findings::Findings;
use crate::core::image::Image;
use crate::core::propose::Proposal;
use crate::core::Examination;

use super::check::CheckReport;
use super::text::size;

/// GitHub's limit on a comment's characters.
pub const GITHUB_COMMENT_LIMIT: usize = 65_536;
/// What a report may take: the limit less room for a caller's own lines around it.
pub const LIMIT: usize = 60_000;
/// Findings shown in full; the rest are one row each in a table.
const FINDINGS_IN_FULL: usize = 10;
/// Rows in the layers table (the largest, in image order).
const LAYER_ROWS: usize = 40;
/// Items per finding.
const ITEMS: usize = 5;

fn pct(x: f64) -> String {
    format!("{:.1}%", x * 100.0)
}

/// Text safe in a table cell: no pipes or newlines, at most `max` characters.
fn cell(s: &str, max: usize) -> String {
    let one_line = s.replace(['\n', '\r'], " ").replace('|', "\\|");
    let clipped = crate::format::clip_line(&one_line, max);
    clipped.replace('`', "'")
}

/// Text safe inside `code`: backticks would end it.
fn code(s: &str) -> String {
    format!("`{}`", s.replace('`', "'"))
}

/// `analyze --format markdown`.
pub fn analysis(image: &Image, ex: &Examination) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "## pyslim: {}", code(&image.reference));
    let _ = writeln!(out);
    headline(&mut out, image, ex);
    layers(&mut out, ex);
    findings(&mut out, &ex.findings);
    cap(out)
}

/// `check --format markdown`: the verdict first, then what `analyze` shows.
pub fn check(r: &CheckReport, image: &Image, ex: &Examination) -> String {
    let mut out = String::new();
    let mark = if r.passed { "✅ PASS" } else { "❌ FAIL" };
    let _ = writeln!(out, "## pyslim check: {mark} — {}", code(&image.reference));
    let _ = writeln!(out);
    verdicts(&mut out, r);
    headline(&mut out, image, ex);
    layers(&mut out, ex);
    findings(&mut out, &ex.findings);
    cap(out)
}

/// The thresholds table of a check.
pub fn verdicts(out: &mut String, r: &CheckReport) {
    let _ = writeln!(out, "Thresholds from {}.", cell(&r.origin, 200));
    let _ = writeln!(out);
    let _ = writeln!(out, "| threshold | measure | limit | value | result |");
    let _ = writeln!(out, "| --- | --- | --- | --- | --- |");
    for v in &r.verdicts {
        let result = match v.result {
            "fail" => "❌ fail",
            "pass" => "✅ pass",
            other => other,
        };
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {result} |",
            v.key,
            v.measure,
            cell(&v.limit, 80),
            cell(&v.value, 120)
        );
    }
    let _ = writeln!(out);
    if let Some(b) = &r.baseline {
        baseline(out, b);
    }
}

fn baseline(out: &mut String, b: &super::baseline::Baseline) {
    let _ = writeln!(
        out,
        "Against {}: **{}** ({:+.1}%, from {}).",
        code(&b.image),
        super::baseline::signed_size(b.size_change),
        b.size_change_ratio * 100.0,
        size(b.image_bytes)
    );
    let _ = writeln!(out);
    for (word, list) in [("New", &b.new_findings), ("Fixed", &b.fixed_findings)] {
        if list.is_empty() {
            let _ = writeln!(out, "- {word} findings: none");
        }
        for f in list.iter().take(30) {
            let _ = writeln!(
                out,
                "- {word}: {} {} ({}) {}",
                severity_badge(&f.severity),
                cell(&f.title, 160),
                code(&f.rule),
                size(f.bytes)
            );
        }
    }
    let _ = writeln!(out);
}

fn headline(out: &mut String, image: &Image, ex: &Examination) {
    let t = &ex.analysis.totals;
    let user = if image.config.user.is_empty() {
        "root (unset)"
    } else {
        &image.config.user
    };
    let _ = writeln!(out, "| | |");
    let _ = writeln!(out, "| --- | --- |");
    let _ = writeln!(
        out,
        "| size | **{}** in the image, {} carried by {} layers |",
        size(t.image_bytes),
        size(t.layer_bytes),
        t.layers
    );
    let _ = writeln!(
        out,
        "| files | {} files, {} directories |",
        t.files, t.directories
    );
    let _ = writeln!(
        out,
        "| wasted | {} ({} of what the layers carry); efficiency {} |",
        size(t.wasted_bytes),
        pct(t.wasted_ratio),
        pct(t.efficiency)
    );
    let _ = writeln!(
        out,
        "| dive's figures | efficiency {}, wasted {}, user wasted {} |",
        pct(ex.analysis.dive.efficiency),
        size(ex.analysis.dive.wasted_bytes),
        pct(ex.analysis.dive.user_wasted_percent)
    );
    let _ = writeln!(
        out,
        "| reclaimable | **{}** by {} findings |",
        size(ex.findings.reclaimable_bytes),
        ex.findings.findings.len()
    );
    let _ = writeln!(out, "| runs as | {} |", cell(user, 80));
    let inv = &ex.inventory;
    let os = inv
        .os
        .as_ref()
        .map(|o| o.pretty_name.as_str())
        .filter(|s| !s.is_empty())
        .unwrap_or("unknown OS");
    let _ = writeln!(
        out,
        "| contents | {}, {} OS packages, {} Python packages |",
        cell(os, 80),
        inv.os_packages.len(),
        inv.python_packages.len()
    );
    let _ = writeln!(out);
}

fn layers(out: &mut String, ex: &Examination) {
    let all = &ex.analysis.layers;
    let mut shown: Vec<usize> = (0..all.len()).collect();
    if all.len() > LAYER_ROWS {
        shown.sort_by_key(|&i| std::cmp::Reverse(all[i].content_bytes));
        shown.truncate(LAYER_ROWS);
        shown.sort_unstable();
    }
    let _ = writeln!(out, "### Layers");
    let _ = writeln!(out);
    let _ = writeln!(out, "| # | size | wasted | entries | instruction |");
    let _ = writeln!(out, "| ---: | ---: | ---: | ---: | --- |");
    for i in &shown {
        let l = &all[*i];
        let wasted = if l.wasted_bytes > 0 {
            size(l.wasted_bytes)
        } else {
            "-".into()
        };
        let _ = writeln!(
            out,
            "| {} | {} | {wasted} | {} | {} |",
            l.index,
            size(l.content_bytes),
            l.entries,
            code(&cell(&l.instruction, 100))
        );
    }
    if shown.len() < all.len() {
        let _ = writeln!(
            out,
            "\n{} smaller layers not shown.",
            all.len() - shown.len()
        );
    }
    let _ = writeln!(out);
}

fn findings(out: &mut String, f: &Findings) {
    let _ = writeln!(out, "### Findings");
    let _ = writeln!(out);
    if f.findings.is_empty() {
        let _ = writeln!(out, "None.");
        return;
    }
    // Most bytes first, then most severe: what a reviewer should fix first.
    let mut order: Vec<&crate::core::findings::Finding> = f.findings.iter().collect();
    order.sort_by(|a, b| b.severity.cmp(&a.severity).then(b.bytes.cmp(&a.bytes)));
    for x in order.iter().take(FINDINGS_IN_FULL) {
        let bytes = if x.bytes > 0 {
            format!(" — {}", size(x.bytes))
        } else {
            String::new()
        };
        let _ = writeln!(
            out,
            "#### {} {}{bytes}",
            severity_badge(x.severity.as_str()),
            cell(&x.title, 160)
        );
        let _ = writeln!(out);
        let _ = writeln!(out, "{} (rule {})", cell(&x.summary, 400), code(&x.rule));
        let _ = writeln!(out);
        if let Some(l) = x.layers.first() {
            let _ = writeln!(
                out,
                "- layer {} ({}): {}",
                l.layer,
                size(l.bytes),
                code(&cell(&l.instruction, 120))
            );
        }
        for i in x.items.iter().take(ITEMS) {
            let b = if i.bytes > 0 {
                format!("{} ", size(i.bytes))
            } else {
                String::new()
            };
            let _ = writeln!(out, "- {b}{}", code(&cell(&i.name, 160)));
        }
        let _ = writeln!(out, "\n**Fix:** {}", cell(&x.fix, 600));
        let _ = writeln!(out);
    }
    if order.len() > FINDINGS_IN_FULL {
        let _ = writeln!(
            out,
            "<details><summary>{} more findings</summary>\n",
            order.len() - FINDINGS_IN_FULL
        );
        let _ = writeln!(out, "| severity | finding | bytes | rule |");
        let _ = writeln!(out, "| --- | --- | ---: | --- |");
        for x in order.iter().skip(FINDINGS_IN_FULL) {
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} |",
                x.severity.as_str(),
                cell(&x.title, 120),
                size(x.bytes),
                code(&x.rule)
            );
        }
        let _ = writeln!(out, "\n</details>\n");
    }
}

fn severity_badge(s: &str) -> &'static str {
    match s {
        "critical" => "🟥 critical",
        "high" => "🟧 high",
        "medium" => "🟨 medium",
        "low" => "🟦 low",
        _ => "⬜ info",
    }
}

/// `compare --format markdown`: the variants side by side.
pub fn compare(c: &Comparison) -> String {
    let mut out = String::new();
    let rows = super::compare::variant_rows(c);
    let _ = writeln!(out, "## pyslim compare");
    let _ = writeln!(out);
    for (n, (label, vals)) in rows.iter().enumerate() {
        let cells: Vec<String> = vals.iter().map(|v| cell(v, 80)).collect();
        let _ = writeln!(
            out,
            "| {} | {} |",
            cell(label.trim(), 40),
            cells.join(" | ")
        );
        if n == 0 {
            let _ = writeln!(out, "| --- |{}", " ---: |".repeat(vals.len()));
        }
    }
    cap(out)
}

/// `propose --format markdown`: the estimate, what changes, and the Dockerfile's diff.
pub fn propose(p: &Proposal, written: &str) -> String {
    let mut out = String::new();
    let e = &p.estimate;
    let _ = writeln!(out, "## pyslim proposal for {}", code(&p.image));
    let _ = writeln!(out);
    let _ = writeln!(
        out,
        "Target {}, Python {}; written to {}.",
        p.plan.context.target.name(),
        p.plan.context.python_version,
        code(written)
    );
    let _ = writeln!(out);
    let _ = writeln!(out, "| | size |");
    let _ = writeln!(out, "| --- | ---: |");
    let _ = writeln!(out, "| now | {} |", size(e.current_bytes));
    let _ = writeln!(out, "| proposed (estimate) | **{}** |", size(e.total_bytes));
    let saved = if e.saved_bytes < 0 {
        format!("-{}", size(e.saved_bytes.unsigned_abs()))
    } else {
        size(e.saved_bytes as u64)
    };
    let _ = writeln!(out, "| saved | **{saved}** |");
    let _ = writeln!(out);
    if !e.by_finding.is_empty() {
        let _ = writeln!(out, "| finding | bytes | what the proposal does |");
        let _ = writeln!(out, "| --- | ---: | --- |");
        for f in &e.by_finding {
            let _ = writeln!(
                out,
                "| {} | {} | {} |",
                code(&f.rule),
                size(f.bytes),
                cell(&f.action, 300)
            );
        }
        let _ = writeln!(out);
    }
    // The diff is fenced; a longer fence than any run of backticks inside keeps it closed.
    let fence = "`".repeat(longest_backtick_run(&p.diff).max(2) + 1);
    let _ = writeln!(
        out,
        "<details><summary>Dockerfile diff</summary>\n\n{fence}diff\n{}\n{fence}\n\n</details>",
        p.diff.trim_end()
    );
    cap(out)
}

fn longest_backtick_run(s: &str) -> usize {
    s.split(|c| c != '`').map(str::len).max().unwrap_or(0)
}

/// Cuts a report that would pass `LIMIT` at a line, saying so.
fn cap(mut out: String) -> String {
    if out.len() <= LIMIT {
        return out;
    }
    let note = "\n\n_(cut here: the report would pass GitHub's 65,536-character limit; `--format json` has all of it)_\n";
    let mut end = LIMIT - note.len();
    while !out.is_char_boundary(end) {
        end -= 1;
    }
    if let Some(nl) = out[..end].rfind('\n') {
        end = nl;
    }
    out.truncate(end);
    out.push_str(note);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_cannot_break_a_table_or_a_code_span() {
        assert_eq!(cell("a|b\nc `d`", 80), "a\\|b c 'd'");
        assert_eq!(code("x`y"), "`x'y`");
    }

    #[test]
    fn a_report_past_the_limit_is_cut_at_a_line_and_says_so() {
        let long: String = (0..20_000).map(|i| format!("line {i}\n")).collect();
        let cut = cap(long.clone());
        assert!(cut.len() <= LIMIT, "{}", cut.len());
        assert!(cut.ends_with("has all of it)_\n"));
        let kept = cut.split("\n\n_(cut here").next().unwrap();
        assert!(long.starts_with(kept) && kept.ends_with(|c: char| c.is_ascii_digit()));
        assert_eq!(cap("short\n".into()), "short\n");
    }
}
