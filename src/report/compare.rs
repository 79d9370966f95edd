//! `pyslim compare`: the variants side by side, as text or JSON.

use std::fmt::Write as _;

use crate::core::compare::Comparison;

use super::text::size;

fn yes_no(b: bool) -> String {
    if b {
        "yes".into()
    } else {
        "no".into()
    }
}

fn cell(s: &str, w: usize) -> String {
    let s: String = if s.chars().count() > w {
        format!(
            "{}…",
            s.chars().take(w.saturating_sub(1)).collect::<String>()
        )
    } else {
        s.to_owned()
    };
    format!("{s:<w$}")
}

pub fn render(c: &Comparison, rows_per_list: usize) -> String {
    let mut out = String::new();
    let w = 26;
    let v = &c.variants;
    let row = |out: &mut String, label: &str, vals: Vec<String>| {
        let _ = write!(out, "{:<22}", label);
        for val in vals {
            let _ = write!(out, " {}", cell(&val, w));
        }
        out.push('\n');
    };
    row(
        &mut out,
        "",
        v.iter().map(|x| x.reference.clone()).collect(),
    );
    row(
        &mut out,
        "source",
        v.iter().map(|x| x.source.clone()).collect(),
    );
    row(
        &mut out,
        "size",
        v.iter().map(|x| size(x.image_bytes)).collect(),
    );
    row(
        &mut out,
        "stored (compressed)",
        v.iter()
            .map(|x| x.blob_bytes.map(size).unwrap_or_else(|| "-".into()))
            .collect(),
    );
    row(
        &mut out,
        "layers",
        v.iter().map(|x| x.layers.to_string()).collect(),
    );
    row(
        &mut out,
        "files",
        v.iter().map(|x| x.files.to_string()).collect(),
    );
    row(&mut out, "OS", v.iter().map(|x| x.os.clone()).collect());
    row(&mut out, "libc", v.iter().map(|x| x.libc.clone()).collect());
    row(
        &mut out,
        "OS packages",
        v.iter().map(|x| x.os_packages.to_string()).collect(),
    );
    row(
        &mut out,
        "Python",
        v.iter()
            .map(|x| {
                if x.interpreters.is_empty() {
                    "none found".into()
                } else {
                    x.interpreters.join(", ")
                }
            })
            .collect(),
    );
    row(
        &mut out,
        "Python packages",
        v.iter().map(|x| x.python_packages.to_string()).collect(),
    );
    row(
        &mut out,
        "shell",
        v.iter().map(|x| yes_no(x.shell)).collect(),
    );
    row(
        &mut out,
        "package manager",
        v.iter().map(|x| yes_no(x.package_manager)).collect(),
    );
    row(
        &mut out,
        "compilers",
        v.iter()
            .map(|x| {
                if x.compiler_bytes > 0 {
                    size(x.compiler_bytes)
                } else {
                    "no".into()
                }
            })
            .collect(),
    );
    row(
        &mut out,
        "runs as",
        v.iter().map(|x| x.user.clone()).collect(),
    );
    row(
        &mut out,
        "setuid/setgid files",
        v.iter().map(|x| x.setuid_files.len().to_string()).collect(),
    );
    row(
        &mut out,
        "secrets",
        v.iter().map(|x| x.secrets.to_string()).collect(),
    );
    row(
        &mut out,
        "reclaimable",
        v.iter().map(|x| size(x.reclaimable_bytes)).collect(),
    );
    let cats: std::collections::BTreeSet<&String> =
        v.iter().flat_map(|x| x.findings.keys()).collect();
    for cat in cats {
        let vals: Vec<String> = v
            .iter()
            .map(|x| {
                x.findings
                    .get(cat)
                    .map(|b| size(*b))
                    .unwrap_or_else(|| "-".into())
            })
            .collect();
        if vals.iter().all(|s| s == "0 B" || s == "-") {
            continue;
        }
        row(&mut out, &format!("  {cat}"), vals);
    }
    for x in v.iter().filter(|x| !x.manylinux_on_musl.is_empty()) {
        let _ = writeln!(
            out,
            "\nWARNING {}: musl image with manylinux (glibc) wheels, which will not load: {}",
            x.reference,
            x.manylinux_on_musl.join(", ")
        );
    }
    let list = |out: &mut String, title: &str, rows: &[crate::core::compare::PackageRow]| {
        if rows.is_empty() {
            return;
        }
        let _ = writeln!(out, "\n{title} ({} differ)", rows.len());
        for r in rows.iter().take(rows_per_list) {
            let vals = r
                .versions
                .iter()
                .map(|x| x.clone().unwrap_or_else(|| "-".into()))
                .collect();
            row(out, &format!("  {}", r.name), vals);
        }
        if rows.len() > rows_per_list {
            let _ = writeln!(
                out,
                "  … {} more (--json for all)",
                rows.len() - rows_per_list
            );
        }
    };
    list(&mut out, "OS packages", &c.os_packages);
    list(&mut out, "Python packages", &c.python_packages);
    if !c.paths.is_empty() {
        let _ = writeln!(
            out,
            "\nFiles that differ ({} in all; widest gaps first)",
            c.paths_differing
        );
        for p in c.paths.iter().take(rows_per_list) {
            let vals = p
                .bytes
                .iter()
                .map(|b| b.map(size).unwrap_or_else(|| "-".into()))
                .collect();
            let label = format!("  /{}", p.path);
            let _ = writeln!(out, "{label}");
            row(&mut out, "", vals);
        }
    }
    out
}
