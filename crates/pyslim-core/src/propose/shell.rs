//! Just enough shell reading for proposals: the packages an `apt-get install` names, pip
//! flags to add or drop, and ENV assignments. Words are split as a shell would for plain
//! words and quotes; anything cleverer (variables, subshells) is left as written.

/// The words a POSIX shell reads (quotes removed, escapes applied, a `#` word starts a
/// comment), by `shlex`. A line it refuses (an unclosed quote) is split by hand instead, as
/// far as the words go.
pub fn words(s: &str) -> Vec<String> {
    shlex::split(s).unwrap_or_else(|| words_lenient(s))
}

/// Splits on whitespace, keeping quoted spans and backslash escapes inside one word; an
/// unclosed quote runs to the end.
fn words_lenient(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quote: Option<char> = None;
    let mut in_word = false;
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            // In double quotes a backslash escapes only these; before others it is text.
            (Some('"'), '\\') => match chars.next() {
                Some('\n') => {}
                Some(n @ ('"' | '\\' | '$' | '`')) => cur.push(n),
                Some(n) => {
                    cur.push('\\');
                    cur.push(n);
                }
                None => cur.push('\\'),
            },
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
            (Some('"'), '\\') => {
                chars.next();
            }
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
            // `\"` inside double quotes is a quote character, not the end of the span.
            (Some('"'), '\\') => {
                cur.push(c);
                if let Some(n) = chars.next() {
                    cur.push(n);
                }
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

/// Where a simple command's words run a package manager (`apt-get`, `apt`, `apk`, by any
/// path), and which: anywhere in the command, not only first, so `sudo apt-get`, `then
/// apt-get`, `xargs apt-get` and a subshell's `(apt-get` count too.
pub fn package_tool(cmd: &[String]) -> Option<(usize, &'static str)> {
    cmd.iter().enumerate().find_map(|(n, w)| {
        let w = w.trim_start_matches(['(', '{']);
        let base = w.rsplit('/').next().unwrap_or(w);
        ["apt-get", "apt", "apk"]
            .into_iter()
            .find(|t| *t == base)
            .map(|t| (n, t))
    })
}

/// Packages named by `apt-get install`, `apt install` or `apk add` in a RUN line, without
/// version pins (`pkg=1.2` → `pkg`).
pub fn installed_packages(run: &str) -> Vec<String> {
    let mut out = Vec::new();
    for cmd in commands(run) {
        let Some((tool, _)) = package_tool(&cmd) else {
            continue;
        };
        let verb = cmd[tool + 1..]
            .iter()
            .position(|w| w == "install" || w == "add")
            .map(|p| tool + 1 + p);
        let Some(verb) = verb else { continue };
        // `xargs apt-get install -y < list`: a redirection and its file are not packages.
        let mut redirect = false;
        for w in &cmd[verb + 1..] {
            if std::mem::take(&mut redirect) {
                continue;
            }
            if w.trim_start_matches(|c: char| c.is_ascii_digit())
                .starts_with(['<', '>'])
            {
                redirect = w
                    .trim_start_matches(|c: char| {
                        c.is_ascii_digit() || c == '<' || c == '>' || c == '&'
                    })
                    .is_empty();
                continue;
            }
            if w.starts_with('-') || w.contains('$') {
                continue;
            }
            // `(apt-get install -y gcc)`: the subshell's parenthesis is not the name's.
            let w = w.trim_end_matches([')', '}']);
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
        // Inside other commands and subshells, as packages.rs's apt_command finds them.
        assert_eq!(
            installed_packages("(apt-get update && apt-get install -y gcc)"),
            vec!["gcc"]
        );
        assert_eq!(
            installed_packages("xargs apt-get install -y gcc < packages.txt 2>/dev/null"),
            vec!["gcc"]
        );
        assert_eq!(
            installed_packages("if [ -f x ]; then sudo apt-get install -y gcc; fi"),
            vec!["gcc"]
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
    fn words_follow_posix_quoting() {
        // In double quotes a backslash escapes `"`, `\`, `$` and `` ` `` and stays before others.
        assert_eq!(
            words(r#"echo "a\"b" "c\d" 'e\f' g\ h"#),
            vec!["echo", "a\"b", "c\\d", "e\\f", "g h"]
        );
        // A `#` that starts a word starts a comment; inside a word it is text.
        assert_eq!(
            words("pip install x#egg # the app"),
            vec!["pip", "install", "x#egg"]
        );
        // An escaped quote does not end the quoted span for the other readers either.
        assert_eq!(
            command_spans(r#"echo "a\"; b" && pip install x"#),
            vec![
                ("".to_owned(), r#"echo "a\"; b""#.to_owned()),
                ("&&".to_owned(), "pip install x".to_owned())
            ]
        );
        assert!(!needs_shell(r#"python -c "print(\"a; b\")""#));
        // An unclosed quote still gives the words a shell would start with.
        assert_eq!(words("echo \"a b"), vec!["echo", "a b"]);
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
