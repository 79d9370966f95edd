//! The documentation stays whole and inside the repository: every relative link in README.md,
//! ARCHITECTURE.md and docs/*.md names a file that exists (and, with `#anchor`, a heading it
//! has), and no link leaves the checkout. The docs must read offline from a clone, so there is
//! no allowlist of web addresses: an upstream project is named in prose or code, not linked.
//! And docs/findings.md, the rule catalogue, has a row for every rule in assets/rules.toml.
//!
//! Plain std: this binary does not link pyslim, so it builds in a moment.

use std::collections::HashMap;
use std::fs;
use std::path::{Component, Path, PathBuf};

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// README.md, ARCHITECTURE.md and every docs/*.md, relative to the repository.
fn doc_files(root: &Path) -> Vec<PathBuf> {
    let mut files = vec![PathBuf::from("README.md"), PathBuf::from("ARCHITECTURE.md")];
    let mut docs: Vec<PathBuf> = fs::read_dir(root.join("docs"))
        .expect("docs/ exists")
        .map(|e| e.expect("a docs/ entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "md"))
        .map(|p| p.strip_prefix(root).expect("under the repo").to_owned())
        .collect();
    docs.sort();
    files.extend(docs);
    files
}

/// The text a reader sees as prose, line by line: fenced code blocks become empty lines and
/// inline code spans are blanked, so `[a](b)` or a URL shown as code is not a link.
fn prose_lines(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut fence: Option<String> = None;
    for line in text.lines() {
        let trimmed = line.trim_start();
        if let Some(open) = &fence {
            if trimmed.starts_with(open.as_str()) {
                fence = None;
            }
            out.push(String::new());
            continue;
        }
        if trimmed.starts_with("```") || trimmed.starts_with("~~~") {
            let ch = trimmed.chars().next().unwrap_or('`');
            let run: String = trimmed.chars().take_while(|&c| c == ch).collect();
            fence = Some(run);
            out.push(String::new());
            continue;
        }
        out.push(blank_code_spans(line));
    }
    out
}

/// Replaces each inline code span (a run of N backticks up to the next run of exactly N)
/// with spaces; an unclosed run stays as it is, as Markdown reads it.
fn blank_code_spans(line: &str) -> String {
    let chars: Vec<char> = line.chars().collect();
    let mut out = String::with_capacity(line.len());
    let mut i = 0;
    while i < chars.len() {
        if chars[i] != '`' {
            out.push(chars[i]);
            i += 1;
            continue;
        }
        let run = chars[i..].iter().take_while(|&&c| c == '`').count();
        let mut j = i + run;
        let mut close = None;
        while j < chars.len() {
            if chars[j] == '`' {
                let r = chars[j..].iter().take_while(|&&c| c == '`').count();
                if r == run {
                    close = Some(j + r);
                    break;
                }
                j += r;
            } else {
                j += 1;
            }
        }
        match close {
            Some(end) => {
                out.extend(std::iter::repeat_n(' ', end - i));
                i = end;
            }
            None => {
                out.extend(&chars[i..i + run]);
                i += run;
            }
        }
    }
    out
}

/// Link targets in one line of prose: inline links and images `[t](target "title")`,
/// reference definitions `[id]: target`, autolinks `<scheme:…>`, and HTML src/href.
fn link_targets(line: &str) -> Vec<String> {
    let mut targets = Vec::new();
    let mut rest = line;
    while let Some(at) = rest.find("](") {
        let after = &rest[at + 2..];
        let mut depth = 0usize;
        let mut end = after.len();
        for (k, c) in after.char_indices() {
            match c {
                '(' => depth += 1,
                ')' if depth == 0 => {
                    end = k;
                    break;
                }
                ')' => depth -= 1,
                _ => {}
            }
        }
        let inner = after[..end].trim();
        let target = if let Some(angled) = inner.strip_prefix('<') {
            angled.split('>').next().unwrap_or("")
        } else {
            inner.split_whitespace().next().unwrap_or("")
        };
        targets.push(target.to_owned());
        rest = &after[end.min(after.len())..];
    }
    let trimmed = line.trim_start();
    if line.len() - trimmed.len() <= 3 && trimmed.starts_with('[') {
        if let Some(close) = trimmed.find("]:") {
            let target = trimmed[close + 2..].split_whitespace().next().unwrap_or("");
            targets.push(target.trim_matches(['<', '>']).to_owned());
        }
    }
    for (k, _) in line.match_indices('<') {
        let inner: String = line[k + 1..].chars().take_while(|&c| c != '>').collect();
        if has_scheme(&inner) && !inner.contains(' ') {
            targets.push(inner);
        }
    }
    for attr in ["src=\"", "href=\""] {
        for (k, _) in line.match_indices(attr) {
            let inner: String = line[k + attr.len()..]
                .chars()
                .take_while(|&c| c != '"')
                .collect();
            targets.push(inner);
        }
    }
    targets
}

/// `http:`, `mailto:`, `file:` …: anything a browser would take outside the checkout.
fn has_scheme(target: &str) -> bool {
    let Some(colon) = target.find(':') else {
        return false;
    };
    let scheme = &target[..colon];
    !scheme.is_empty()
        && scheme
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic())
        && scheme
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c))
}

/// A web address written as plain prose, which GitHub turns into a link by itself.
fn bare_address(line: &str) -> Option<&str> {
    ["http://", "https://", "www."]
        .into_iter()
        .find(|p| line.contains(p))
}

/// GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens;
/// repeated headings get `-1`, `-2` ….
fn heading_anchors(text: &str) -> Vec<String> {
    let mut seen: HashMap<String, usize> = HashMap::new();
    let mut anchors = Vec::new();
    for line in prose_lines_keeping_code_text(text) {
        let hashes = line.chars().take_while(|&c| c == '#').count();
        if !(1..=6).contains(&hashes) || !line[hashes..].starts_with(' ') {
            continue;
        }
        let title = line[hashes..].trim();
        // Link text stays, link targets go: "[usage](docs/usage.md)" reads "usage".
        let mut plain = String::new();
        let mut skip_target = false;
        let mut prev = ' ';
        for c in title.chars() {
            if skip_target {
                if c == ')' {
                    skip_target = false;
                }
                continue;
            }
            if prev == ']' && c == '(' {
                skip_target = true;
                continue;
            }
            prev = c;
            plain.push(c);
        }
        let slug: String = plain
            .to_lowercase()
            .chars()
            .filter_map(|c| match c {
                ' ' => Some('-'),
                c if c.is_alphanumeric() || c == '-' || c == '_' => Some(c),
                _ => None,
            })
            .collect();
        let n = seen.entry(slug.clone()).or_insert(0);
        anchors.push(if *n == 0 {
            slug.clone()
        } else {
            format!("{slug}-{n}")
        });
        *n += 1;
    }
    anchors
}

/// Lines outside fenced code blocks, with inline code kept (a heading's `code` is part of
/// its anchor).
fn prose_lines_keeping_code_text(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut fence: Option<String> = None;
    for line in text.lines() {
        let trimmed = line.trim_start();
        if let Some(open) = &fence {
            if trimmed.starts_with(open.as_str()) {
                fence = None;
            }
            continue;
        }
        if trimmed.starts_with("```") || trimmed.starts_with("~~~") {
            let ch = trimmed.chars().next().unwrap_or('`');
            fence = Some(trimmed.chars().take_while(|&c| c == ch).collect());
            continue;
        }
        out.push(line.to_owned());
    }
    out
}

/// `base/../x/./y` without touching the file system; None when it climbs above the root.
fn normalise(path: &Path) -> Option<PathBuf> {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::Normal(p) => out.push(p),
            Component::CurDir => {}
            Component::ParentDir => {
                if !out.pop() {
                    return None;
                }
            }
            Component::RootDir | Component::Prefix(_) => return None,
        }
    }
    Some(out)
}

/// Every problem with the links of one document (`doc` is relative to `root`).
fn check_doc(root: &Path, doc: &Path, text: &str) -> Vec<String> {
    let mut problems = Vec::new();
    let dir = doc.parent().unwrap_or(Path::new(""));
    for (n, line) in prose_lines(text).iter().enumerate() {
        let at = format!("{}:{}", doc.display(), n + 1);
        // A web address as a link target is reported below, as a link; here, only prose.
        let mut prose = line.clone();
        for target in link_targets(line) {
            if !target.is_empty() {
                prose = prose.replacen(&format!("]({target}"), "](", 1);
            }
        }
        if let Some(address) = bare_address(&prose) {
            problems.push(format!(
                "{at}: a web address ({address}…) points outside the repository"
            ));
        }
        for target in link_targets(line) {
            if target.is_empty() {
                problems.push(format!("{at}: a link with no target"));
                continue;
            }
            if has_scheme(&target) || target.starts_with("//") {
                problems.push(format!(
                    "{at}: {target} points outside the repository (link a file of the repo instead)"
                ));
                continue;
            }
            if target.starts_with('/') {
                problems.push(format!(
                    "{at}: {target} is absolute; write it relative to {}",
                    doc.display()
                ));
                continue;
            }
            let (path, anchor) = match target.split_once('#') {
                Some((p, a)) => (p, Some(a)),
                None => (target.as_str(), None),
            };
            let resolved = if path.is_empty() {
                Some(doc.to_owned())
            } else {
                normalise(&dir.join(path))
            };
            let Some(resolved) = resolved else {
                problems.push(format!("{at}: {target} climbs out of the repository"));
                continue;
            };
            let on_disk = root.join(&resolved);
            if !on_disk.exists() {
                problems.push(format!(
                    "{at}: {target} names {}, which does not exist",
                    resolved.display()
                ));
                continue;
            }
            if let Some(anchor) = anchor {
                if resolved.extension().is_some_and(|x| x == "md") {
                    let linked = fs::read_to_string(&on_disk).unwrap_or_default();
                    if !heading_anchors(&linked).iter().any(|a| a == anchor) {
                        problems.push(format!(
                            "{at}: {target}: {} has no heading with anchor #{anchor}",
                            resolved.display()
                        ));
                    }
                }
            }
        }
    }
    problems
}

#[test]
fn every_link_in_the_docs_stays_in_the_repo_and_resolves() {
    let root = repo();
    let mut problems = Vec::new();
    let mut links = 0;
    for doc in doc_files(&root) {
        let text = fs::read_to_string(root.join(&doc)).expect("a doc is readable");
        links += prose_lines(&text)
            .iter()
            .map(|l| link_targets(l).len())
            .sum::<usize>();
        problems.extend(check_doc(&root, &doc, &text));
    }
    assert!(
        problems.is_empty(),
        "broken or outside links:\n  {}",
        problems.join("\n  ")
    );
    // The README is the front door: it must lead somewhere.
    assert!(
        links > 50,
        "only {links} links found: is the parser reading the docs?"
    );
}

#[test]
fn the_checker_catches_what_it_is_for() {
    let root = repo();
    let doc = Path::new("docs/usage.md");
    let bad = "\
See [gone](missing.md), [up](../../outside.md), [web](https://example.com),
[abs](/etc/passwd), [anchor](findings.md#no-such-heading), ![pic](../screenshots/none.svg)
and www.example.com, but not `[code](nowhere.md)` or `https://in.code`.
```
[fenced](nowhere-either.md) https://fenced.example
```
[fine](findings.md#how-each-rule-decides) and [also fine](../README.md#two-commands).
";
    let problems = check_doc(&root, doc, bad);
    let text = problems.join("\n");
    for expected in [
        "missing.md names docs/missing.md, which does not exist",
        "../../outside.md climbs out of the repository",
        "https://example.com points outside",
        "/etc/passwd is absolute",
        "has no heading with anchor #no-such-heading",
        "../screenshots/none.svg names screenshots/none.svg",
        "a web address (www.…)",
    ] {
        assert!(text.contains(expected), "missed {expected:?} in:\n{text}");
    }
    assert_eq!(problems.len(), 7, "{text}");
}

#[test]
fn heading_anchors_follow_github() {
    let text = "# pyslim\n## JSON (`--json`)\n## `pyslim analyze --json`\n## Two commands\n## Two commands\n```\n# not a heading\n```\n### [usage](docs/usage.md) and more\n";
    assert_eq!(
        heading_anchors(text),
        [
            "pyslim",
            "json---json",
            "pyslim-analyze---json",
            "two-commands",
            "two-commands-1",
            "usage-and-more"
        ]
    );
}

/// The rule catalogue in docs/findings.md names every rule assets/rules.toml defines, and
/// no rule that it does not.
#[test]
fn findings_catalogue_has_a_row_for_every_rule() {
    let root = repo();
    let rules = fs::read_to_string(root.join("assets/rules.toml")).expect("rules.toml");
    let ids: Vec<&str> = rules
        .lines()
        .filter_map(|l| l.strip_prefix("id = \""))
        .filter_map(|l| l.strip_suffix('"'))
        .collect();
    assert!(ids.len() >= 30, "only {} rule ids read", ids.len());
    let catalogue = fs::read_to_string(root.join("docs/findings.md")).expect("findings.md");
    let rows: Vec<&str> = catalogue
        .lines()
        .filter_map(|l| l.strip_prefix("| `"))
        .filter_map(|l| l.split('`').next())
        .collect();
    let missing: Vec<&&str> = ids.iter().filter(|id| !rows.contains(id)).collect();
    assert!(
        missing.is_empty(),
        "docs/findings.md has no row for {missing:?}"
    );
    let field_rows = [
        "id",
        "paths = [globs]",
        "except = [globs]",
        "packages = [globs]",
        "python_packages = [names]",
        "detector = \"name\"",
        "with_dependencies = true",
        "bloat = false",
        "cleanup = \"shell\"",
        "set_env = \"NAME=value\"",
        "dockerignore = [lines]",
        "proposal = \"text\"",
        "enabled = false",
    ];
    let unknown: Vec<&&str> = rows
        .iter()
        .filter(|r| !ids.contains(r) && !field_rows.contains(r))
        .collect();
    assert!(
        unknown.is_empty(),
        "docs/findings.md has rows for rules assets/rules.toml lacks: {unknown:?}"
    );
}

/// The README's two set-up commands are an interface: `.ci/run` runs the test command the
/// README gives, and a newcomer's first run is the other one.
#[test]
fn readme_keeps_the_two_commands() {
    let readme = fs::read_to_string(repo().join("README.md")).expect("README.md");
    let commands: Vec<&str> = readme
        .lines()
        .filter(|l| l.starts_with("cargo "))
        .map(|l| l.split('#').next().unwrap_or("").trim())
        .collect();
    assert_eq!(
        commands,
        [
            "cargo install --locked --path . && pyslim explore",
            "cargo test"
        ],
        "README.md's two commands changed; .ci/run runs the test one"
    );
}
