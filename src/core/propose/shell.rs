//! Just enough shell reading for proposals: the packages an `apt-get install` names, pip
//! flags to add or drop, and ENV assignments. Words are split as a shell would for plain
//! words and quotes; anything cleverer (variables, subshells) is left as written.

/// Splits on whitespace, keeping quoted spans and backslash escapes inside one word.
pub fn words(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quote: Option<char> = None;
    let mut in_word = false;
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), c) => cur.push(c),
            (None, '"' | '\'') => {
                quote = Some(c);
                in_word = true;
            }
            // Backslash-newline continues the line; any other escaped character is literal.
            (None, '\\') => match chars.next() {
                Some('\n') | None => {}
                Some(n) => {
                    cur.push(n);
                    in_word = true;
                }
            },
            (None, c) if c.is_whitespace() => {
                if in_word {
                    out.push(std::mem::take(&mut cur));
                    in_word = false;
                }
            }
            (None, c) => {
                cur.push(c);
                in_word = true;
            }
        }
    }
    if in_word {
        out.push(cur);
    }
    out
}

/// True when a command line uses shell syntax outside quotes (pipes, lists, redirections,
/// expansions, globs), so that only a shell can run it.
pub fn needs_shell(cmd: &str) -> bool {
    let mut quote: Option<char> = None;
    let mut chars = cmd.chars();
    while let Some(c) = chars.next() {
        match (quote, c) {
            (Some('\''), '\'') => quote = None,
            (Some('\''), _) => {}
            (Some('"'), '"') => quote = None,
            // Inside double quotes a shell still expands $ and `.
            (Some('"'), '$' | '`') => return true,
            (Some(_), _) => {}
            (None, '\'' | '"') => quote = Some(c),
            (None, c) if "|&;<>()$`*?~{}[]#\\\n".contains(c) => return true,
            (None, _) => {}
        }
    }
    false
}

/// The simple commands of a RUN line: split at `&&`, `||`, `;`, `|` and newlines.
pub fn commands(run: &str) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    let mut cur = Vec::new();
    for w in words(&run.replace(';', " ; ")) {
        if matches!(w.as_str(), "&&" | "||" | ";" | "|") {
            if !cur.is_empty() {
                out.push(std::mem::take(&mut cur));
            }
        } else {
            cur.push(w);
        }
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

/// The simple commands of a RUN line as written, each with the operator before it (`&&`,
/// `||`, `;`, `|`, or "" for the first), split outside quotes, so a rewrite can replace some
/// commands and keep the others' text exactly.
pub fn command_spans(run: &str) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    let mut sep = String::new();
    let mut cur = String::new();
    let mut quote: Option<char> = None;
    let mut chars = run.chars().peekable();
    let mut flush = |sep: &mut String, cur: &mut String, next: &str| {
        if !cur.trim().is_empty() {
            out.push((std::mem::take(sep), cur.trim().to_owned()));
        }
        cur.clear();
        // Two operators in a row (`a; ; b`) cannot happen in valid shell; keep the later.
        *sep = next.to_owned();
    };
    while let Some(c) = chars.next() {
        match (quote, c) {
            (Some(q), c) if c == q => {
                quote = None;
                cur.push(c);
            }
            (Some(_), c) => cur.push(c),
            (None, '"' | '\'') => {
                quote = Some(c);
                cur.push(c);
            }
            (None, '\\') => {
                cur.push(c);
                if let Some(n) = chars.next() {
                    cur.push(n);
                }
            }
            (None, '&') if chars.peek() == Some(&'&') => {
                chars.next();
                flush(&mut sep, &mut cur, "&&");
            }
            (None, '|') if chars.peek() == Some(&'|') => {
                chars.next();
                flush(&mut sep, &mut cur, "||");
            }
            (None, '|') => flush(&mut sep, &mut cur, "|"),
            (None, ';' | '\n') => flush(&mut sep, &mut cur, ";"),
            (None, c) => cur.push(c),
        }
    }
    flush(&mut sep, &mut cur, "");
    if let Some(first) = out.first_mut() {
        first.0.clear();
    }
    out
}

/// Packages named by `apt-get install`, `apt install` or `apk add` in a RUN line, without
/// version pins (`pkg=1.2` → `pkg`).
pub fn installed_packages(run: &str) -> Vec<String> {
    let mut out = Vec::new();
    for cmd in commands(run) {
        let tool = cmd.iter().position(|w| {
            let base = w.rsplit('/').next().unwrap_or(w);
            matches!(base, "apt-get" | "apt" | "apk")
        });
        let Some(tool) = tool else { continue };
        let verb = cmd[tool + 1..]
            .iter()
            .position(|w| w == "install" || w == "add")
            .map(|p| tool + 1 + p);
        let Some(verb) = verb else { continue };
        for w in &cmd[verb + 1..] {
            if w.starts_with('-') || w.contains('$') {
                continue;
            }
            let name = w.split(['=', '/']).next().unwrap_or(w);
            if !name.is_empty() && !out.iter().any(|o| o == name) {
                out.push(name.to_owned());
            }
        }
    }
    out
}

/// True when the RUN line runs a package manager's install.
pub fn installs_packages(run: &str) -> bool {
    !installed_packages(run).is_empty()
}

/// The RUN text with `--no-cache-dir` added to each `pip install` that lacks it and
/// `--user` dropped (a venv has no user site). Returns the new text and what changed.
/// A pip command's arguments run on across line continuations (`escape` + newline).
pub fn rewrite_pip(run: &str, escape: char) -> (String, Vec<&'static str>) {
    let mut changes = Vec::new();
    let mut out = String::with_capacity(run.len() + 16);
    let mut rest = run;
    while let Some(pos) = find_pip_install(rest) {
        let (head, tail) = rest.split_at(pos.end);
        out.push_str(head);
        // The arguments of this pip command: up to the next command separator.
        let end = args_end(tail, escape);
        let args = &tail[..end];
        // `uv pip install` has no --no-cache-dir (UV_NO_CACHE in the builder covers it), and
        // its --system would install beside the venv instead of into it.
        let uv = head[..pos.start].trim_end().ends_with("uv");
        let mut note = |change: &'static str| {
            if !changes.contains(&change) {
                changes.push(change);
            }
        };
        let kept = if uv {
            without_flag(args, "--system", escape, &mut note, "system")
        } else {
            if !args.split_whitespace().any(|w| w == "--no-cache-dir") {
                out.push_str(" --no-cache-dir");
                note("no-cache-dir");
            }
            without_flag(args, "--user", escape, &mut note, "user")
        };
        out.push_str(&kept);
        rest = &tail[end..];
    }
    out.push_str(rest);
    (out, changes)
}

/// Where a command's arguments end: at the next `&`, `;`, `|`, or a newline that does not
/// continue the line.
fn args_end(tail: &str, escape: char) -> usize {
    for (i, c) in tail.char_indices() {
        match c {
            '&' | ';' | '|' => return i,
            '\n' if !tail[..i].trim_end_matches([' ', '\t']).ends_with(escape) => return i,
            _ => {}
        }
    }
    tail.len()
}

/// `args` without the word `flag`, noting `change` when it was there. A continuation line
/// left holding nothing but the escape is dropped with it.
fn without_flag(
    args: &str,
    flag: &str,
    escape: char,
    note: &mut impl FnMut(&'static str),
    change: &'static str,
) -> String {
    let words: Vec<&str> = args.split_whitespace().collect();
    if !words.contains(&flag) {
        return args.to_owned();
    }
    note(change);
    let mut out = String::with_capacity(args.len());
    let mut rest = args;
    while let Some(pos) = rest.find(flag) {
        let before_ok = rest[..pos].chars().last().is_none_or(char::is_whitespace);
        let mut after = &rest[pos + flag.len()..];
        let after_ok = after.chars().next().is_none_or(char::is_whitespace);
        if before_ok && after_ok {
            let head = &rest[..pos];
            out.push_str(head);
            // First on a continuation line: everything since the last newline is indent.
            let first_on_line = out
                .rfind('\n')
                .is_some_and(|n| out[n + 1..].trim().is_empty());
            out.truncate(out.len() - head.len());
            if first_on_line {
                // First on its line: keep the indent, drop the space after the flag.
                out.push_str(head);
                after = after.trim_start_matches([' ', '\t']);
            } else {
                out.push_str(head.trim_end_matches([' ', '\t']));
            }
        } else {
            out.push_str(&rest[..pos + flag.len()]);
        }
        rest = after;
    }
    out.push_str(rest);
    let escape = escape.to_string();
    let mut lines: Vec<&str> = Vec::new();
    for (n, line) in out.split('\n').enumerate() {
        if n > 0 && line.trim() == escape {
            continue;
        }
        lines.push(line);
    }
    lines.join("\n")
}

/// Where the next `pip install` / `pip3 install` / `-m pip install` ends (its `install`).
fn find_pip_install(s: &str) -> Option<std::ops::Range<usize>> {
    let mut from = 0;
    while let Some(p) = s[from..].find("pip") {
        let start = from + p;
        let after = &s[start + 3..];
        let version_len = after
            .chars()
            .take_while(|c| c.is_ascii_digit() || *c == '.')
            .count();
        let rest = &after[version_len..];
        let boundary_before = start == 0
            || s[..start]
                .chars()
                .last()
                .is_some_and(|c| c.is_whitespace() || c == '/');
        let trimmed = rest.trim_start();
        if boundary_before
            && rest.starts_with(char::is_whitespace)
            && trimmed.starts_with("install")
            && trimmed["install".len()..]
                .chars()
                .next()
                .is_none_or(char::is_whitespace)
        {
            let end = s.len() - trimmed.len() + "install".len();
            return Some(start..end);
        }
        from = start + 3;
    }
    None
}

/// `A=1 B="x y"` (or the old `A x y` form) → `[("A", "A=1"), ("B", "B=\"x y\"")]`, the
/// assignment text kept as written so quoting survives.
pub fn env_assignments(args: &str) -> Vec<(String, String)> {
    let args = args.trim();
    let first = args.split_whitespace().next().unwrap_or("");
    if !first.contains('=') {
        // Legacy `ENV NAME value with spaces`.
        let (name, value) = args.split_once(char::is_whitespace).unwrap_or((args, ""));
        let quoted = serde_json::to_string(value.trim()).unwrap_or_default();
        return vec![(name.to_owned(), format!("{name}={quoted}"))];
    }
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quote: Option<char> = None;
    let mut escaped = false;
    for c in args.chars() {
        if escaped {
            cur.push(c);
            escaped = false;
            continue;
        }
        match (quote, c) {
            (_, '\\') => {
                cur.push(c);
                escaped = true;
            }
            (Some(q), c) if c == q => {
                cur.push(c);
                quote = None;
            }
            (None, '"' | '\'') => {
                cur.push(c);
                quote = Some(c);
            }
            (None, c) if c.is_whitespace() => {
                if !cur.is_empty() {
                    out.push(std::mem::take(&mut cur));
                }
            }
            _ => cur.push(c),
        }
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out.into_iter()
        .filter_map(|a| {
            let name = a.split_once('=')?.0.to_owned();
            Some((name, a))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn apt_and_apk_packages_without_pins_or_flags() {
        assert_eq!(
            installed_packages(
                "apt-get update && apt-get install -y --no-install-recommends gcc libpq-dev=15.8 curl \\\n && rm -rf /var/lib/apt/lists/*"
            ),
            vec!["gcc", "libpq-dev", "curl"]
        );
        assert_eq!(
            installed_packages("apk add --no-cache build-base postgresql-dev; pip install x"),
            vec!["build-base", "postgresql-dev"]
        );
        assert!(installed_packages("pip install apt").is_empty());
        assert!(installed_packages("apt-get update").is_empty());
    }

    #[test]
    fn pip_installs_gain_no_cache_dir_and_lose_user() {
        let (t, c) = rewrite_pip(
            "pip install --user -r requirements.txt && python -m pip install flask",
            '\\',
        );
        assert_eq!(
            t,
            "pip install --no-cache-dir -r requirements.txt && python -m pip install --no-cache-dir flask"
        );
        assert_eq!(c, vec!["no-cache-dir", "user"]);
        let (t, c) = rewrite_pip("/opt/venv/bin/pip3 install --no-cache-dir x", '\\');
        assert_eq!(t, "/opt/venv/bin/pip3 install --no-cache-dir x");
        assert!(c.is_empty());
        let (t, c) = rewrite_pip("uv pip install --system -r requirements.txt", '\\');
        assert_eq!(t, "uv pip install -r requirements.txt");
        assert_eq!(c, vec!["system"]);
        let (t, _) = rewrite_pip("pipx install tool; echo pip installed", '\\');
        assert_eq!(
            t, "pipx install tool; echo pip installed",
            "not pip install"
        );
    }

    #[test]
    fn pip_flags_on_continuation_lines_count() {
        // --user on a continuation line goes (with the line it leaves empty), and the
        // --no-cache-dir already there is not added again.
        let (t, c) = rewrite_pip(
            "RUN pip install \\\n    --user --no-cache-dir -r requirements.txt && echo done",
            '\\',
        );
        assert_eq!(
            t,
            "RUN pip install \\\n    --no-cache-dir -r requirements.txt && echo done"
        );
        assert_eq!(c, vec!["user"]);
        let (t, c) = rewrite_pip("RUN pip install `\n    --user `\n    flask\nRUN x", '`');
        assert_eq!(t, "RUN pip install --no-cache-dir `\n    flask\nRUN x");
        assert_eq!(c, vec!["no-cache-dir", "user"]);
        let (t, _) = rewrite_pip("pip install --user-agent x --user y", '\\');
        assert_eq!(
            t, "pip install --no-cache-dir --user-agent x y",
            "whole words only"
        );
    }

    #[test]
    fn shell_syntax_counts_only_outside_single_quotes() {
        assert!(!needs_shell("python -c 'import a; print(a.f())'"));
        assert!(!needs_shell("python -m app --check"));
        assert!(needs_shell("python -c \"import os; print($HOME)\""));
        assert!(needs_shell("pytest && echo ok"));
        assert!(needs_shell("ls *.py"));
        assert_eq!(
            words("python -c 'import a; print(a.f())'"),
            vec!["python", "-c", "import a; print(a.f())"]
        );
    }

    #[test]
    fn env_forms() {
        assert_eq!(
            env_assignments("A=1 B=\"x y\" C=a\\ b"),
            vec![
                ("A".into(), "A=1".into()),
                ("B".into(), "B=\"x y\"".into()),
                ("C".into(), "C=a\\ b".into())
            ]
        );
        assert_eq!(
            env_assignments("APP_HOME /srv/my app"),
            vec![("APP_HOME".into(), "APP_HOME=\"/srv/my app\"".into())]
        );
    }
}
