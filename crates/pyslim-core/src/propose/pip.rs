//! pip commands in a RUN, rewritten for the builder's venv: `--no-cache-dir` added where it
//! is missing, `--user` (and uv's `--system`) dropped, across line continuations.

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
        // A flag dropped from the instruction's last line leaves the line above continuing
        // onto nothing; Docker skips blank continuation lines, so the next instruction would
        // be joined onto this one.
        let ends_instruction = tail[end..].is_empty() || tail[end..].starts_with('\n');
        let kept = if ends_instruction && kept != args {
            without_trailing_continuation(&kept, escape)
        } else {
            kept
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

/// `args`, the end of an instruction, without the blank lines a dropped flag left at its
/// end and without the escape that continued onto them. Comment lines after the last words
/// stay: once nothing continues onto them, they are the Dockerfile's own comments.
fn without_trailing_continuation(args: &str, escape: char) -> String {
    let mut lines: Vec<&str> = args.split('\n').collect();
    while lines.len() > 1 && lines.last().is_some_and(|l| l.trim().is_empty()) {
        lines.pop();
    }
    // The last line with words on it: the first line (the rest of `pip install`'s line) or
    // one that is not a comment inside the continuation.
    let words = lines
        .iter()
        .rposition(|l| !l.trim().is_empty() && !l.trim_start().starts_with('#'))
        .unwrap_or(0);
    let mut out: Vec<String> = lines.iter().map(|l| (*l).to_owned()).collect();
    if let Some(line) = out.get_mut(words) {
        if let Some(rest) = line.trim_end().strip_suffix(escape) {
            *line = rest.trim_end().to_owned();
        }
    }
    out.join("\n")
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

#[cfg(test)]
mod tests {
    use super::*;

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
    fn user_last_on_a_continued_run_leaves_no_continuation_behind() {
        // Last on its own line: the line above no longer continues onto the blank one, which
        // Docker would skip to join the next instruction onto this RUN.
        let (t, _) = rewrite_pip(
            "RUN pip install \\\n    -r requirements.txt \\\n    --user",
            '\\',
        );
        assert_eq!(
            t,
            "RUN pip install --no-cache-dir \\\n    -r requirements.txt"
        );
        // The only argument on the only continuation line.
        let (t, _) = rewrite_pip("RUN pip install \\\n    --user", '\\');
        assert_eq!(t, "RUN pip install --no-cache-dir");
        // With the Dockerfile's own escape, and a trailing newline kept.
        let (t, _) = rewrite_pip("RUN pip install `\n    flask `\n    --user\n", '`');
        assert_eq!(t, "RUN pip install --no-cache-dir `\n    flask\n");
        // A comment the continuation ran on to stays, as a comment of the Dockerfile.
        let (t, _) = rewrite_pip(
            "RUN pip install x \\\n    --user \\\n    # into the venv",
            '\\',
        );
        assert_eq!(t, "RUN pip install --no-cache-dir x\n    # into the venv");
        // First and in the middle: the continuation goes on to the words after it.
        let (t, _) = rewrite_pip(
            "RUN pip install \\\n    --user \\\n    -r requirements.txt",
            '\\',
        );
        assert_eq!(
            t,
            "RUN pip install --no-cache-dir \\\n    -r requirements.txt"
        );
        let (t, _) = rewrite_pip(
            "RUN pip install \\\n    -U \\\n    --user \\\n    -r requirements.txt",
            '\\',
        );
        assert_eq!(
            t,
            "RUN pip install --no-cache-dir \\\n    -U \\\n    -r requirements.txt"
        );
        // Before another command, the continuation still has that command to run on to.
        let (t, _) = rewrite_pip(
            "RUN pip install x \\\n    --user \\\n    && echo done",
            '\\',
        );
        assert_eq!(t, "RUN pip install --no-cache-dir x \\\n    && echo done");
        // A dangling escape the user wrote is theirs: nothing was dropped, nothing changes.
        let (t, _) = rewrite_pip("RUN pip install --no-cache-dir x \\\n", '\\');
        assert_eq!(t, "RUN pip install --no-cache-dir x \\\n");
    }
}
