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

/// The side-by-side table: a label and one value per variant, for text and the TUI alike.
pub fn variant_rows(c: &Comparison) -> Vec<(String, Vec<String>)> {
    let v = &c.variants;
    let col =
        |f: &dyn Fn(&crate::core::compare::Variant) -> String| v.iter().map(f).collect::<Vec<_>>();
    // Names as short as tells them apart: a shared directory says nothing about a variant.
    let references: Vec<String> = v.iter().map(|x| x.reference.clone()).collect();
    let mut rows = vec![
        (String::new(), crate::format::unique_suffixes(&references)),
        ("source".into(), col(&|x| x.source.clone())),
        ("size".into(), col(&|x| size(x.image_bytes))),
        (
            "stored (compressed)".into(),
            col(&|x| x.blob_bytes.map(size).unwrap_or_else(|| "-".into())),
        ),
        ("layers".into(), col(&|x| x.layers.to_string())),
        ("files".into(), col(&|x| x.files.to_string())),
        ("OS".into(), col(&|x| x.os.clone())),
        ("libc".into(), col(&|x| x.libc.clone())),
        ("OS packages".into(), col(&|x| x.os_packages.to_string())),
        (
            "Python".into(),
            col(&|x| {
                if x.interpreters.is_empty() {
                    "none found".into()
                } else {
                    x.interpreters.join(", ")
                }
            }),
        ),
        (
            "Python packages".into(),
            col(&|x| x.python_packages.to_string()),
        ),
        ("shell".into(), col(&|x| yes_no(x.shell))),
        (
            "package manager".into(),
            col(&|x| yes_no(x.package_manager)),
        ),
        (
            "compilers".into(),
            col(&|x| {
                if x.compiler_bytes > 0 {
                    size(x.compiler_bytes)
                } else {
                    "no".into()
                }
            }),
        ),
        ("runs as".into(), col(&|x| x.user.clone())),
        (
            "setuid/setgid files".into(),
            col(&|x| x.setuid_files.len().to_string()),
        ),
        ("secrets".into(), col(&|x| x.secrets.to_string())),
        ("reclaimable".into(), col(&|x| size(x.reclaimable_bytes))),
    ];
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
        if !vals.iter().all(|s| s == "0 B" || s == "-") {
            rows.push((format!("  {cat}"), vals));
        }
    }
    rows
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
    for (i, (label, vals)) in variant_rows(c).into_iter().enumerate() {
        if i == 0 {
            // The header: cut in the middle, where long names differ least.
            let names = vals
                .iter()
                .map(|n| crate::format::clip_middle(n, w))
                .collect();
            row(&mut out, &label, names);
        } else {
            row(&mut out, &label, vals);
        }
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Was a bug: long references were cut from the right, so every variant of
    /// `/builds/ci/images/…` read the same in the header.
    #[test]
    fn the_header_names_variants_by_what_tells_them_apart() {
        let mut fat = crate::demo::image().unwrap();
        fat.reference = "/builds/ci/pipeline-1234/images/fat-app.tar".into();
        let mut slim = crate::demo::image().unwrap();
        slim.reference = "/builds/ci/pipeline-1234/images/distroless-python-app.tar".into();
        let top = crate::core::analysis::DEFAULT_TOP;
        let (fat_ex, slim_ex) = (
            crate::core::examine(&fat, None, top),
            crate::core::examine(&slim, None, top),
        );
        let c = crate::core::compare::compare(&[(&fat, &fat_ex), (&slim, &slim_ex)], 10);
        let header = render(&c, 10).lines().next().unwrap().to_owned();
        assert!(header.contains("fat-app.tar"), "{header}");
        assert!(header.contains("distroless-python-app.tar"), "{header}");
    }
}
