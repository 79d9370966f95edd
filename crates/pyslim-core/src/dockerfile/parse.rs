//! Reads a Dockerfile into instructions with their line spans: parser directives, comments,
//! line continuations (with the `escape` directive), heredocs (`<<EOF`), JSON and shell forms.
//! Lines are kept exactly so edits can be written back around them.

use crate::image::HistoryEntry;

#[derive(Debug, Clone, PartialEq)]
pub struct Instruction {
    /// First and last line (0-based, inclusive) of the instruction in the file.
    pub first_line: usize,
    pub last_line: usize,
    /// `RUN`, `COPY`, … in upper case.
    pub keyword: String,
    /// Flags such as `--mount=…`, `--from=…`, `--chown=…`.
    pub flags: Vec<String>,
    /// The rest, continuations joined with spaces, comments inside continuations dropped.
    pub args: String,
    /// `["a", "b"]` form.
    pub json_form: bool,
    /// Has a heredoc (`<<EOF`): BuildKit's syntax, which the classic builder cannot run.
    pub heredoc: bool,
    /// The stage this instruction belongs to (0 for the first FROM's).
    pub stage: usize,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Dockerfile {
    pub lines: Vec<String>,
    pub instructions: Vec<Instruction>,
    pub escape: char,
    /// Parser directives (`# syntax=…`, `# escape=…`, `# check=…`), verbatim, in order:
    /// they must stay the first lines of any Dockerfile written from this one.
    pub directives: Vec<String>,
}

/// The directives Docker knows; any other `# k=v` at the top is a comment.
const DIRECTIVES: &[&str] = &["syntax", "escape", "check"];

/// `# name=value` with a known name → (name in lower case, value).
fn directive(line: &str) -> Option<(String, String)> {
    let (k, v) = line.trim().strip_prefix('#')?.split_once('=')?;
    let k = k.trim().to_ascii_lowercase();
    (DIRECTIVES.contains(&k.as_str()) && !v.trim().is_empty()).then(|| (k, v.trim().to_owned()))
}

impl Dockerfile {
    pub fn parse(text: &str) -> Dockerfile {
        // A UTF-8 byte order mark is not part of the first instruction.
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        let lines: Vec<String> = text.lines().map(str::to_owned).collect();
        let mut escape = '\\';
        let mut directives: Vec<String> = Vec::new();
        let mut instructions = Vec::new();
        let mut i = 0;
        let mut stage = 0usize;
        let mut seen_from = false;
        let mut directives_open = true;
        while i < lines.len() {
            let trimmed = lines[i].trim();
            if trimmed.is_empty() {
                directives_open = false;
                i += 1;
                continue;
            }
            if trimmed.starts_with('#') {
                // Parser directives come first, as `# name=value` comments of known names.
                if directives_open {
                    if let Some((k, v)) = directive(trimmed) {
                        if k == "escape" {
                            escape = match v.as_str() {
                                "`" => '`',
                                _ => '\\',
                            };
                        }
                        directives.push(lines[i].clone());
                        i += 1;
                        continue;
                    }
                }
                directives_open = false;
                i += 1;
                continue;
            }
            directives_open = false;
            let first = i;
            let mut logical = String::new();
            // Only these instructions take heredocs (BuildKit's rule).
            let takes_heredocs = trimmed.split_whitespace().next().is_some_and(|k| {
                ["RUN", "COPY", "ADD"]
                    .iter()
                    .any(|h| k.eq_ignore_ascii_case(h))
            });
            loop {
                let line = lines[i].as_str();
                let body = line.trim_end();
                // Comments and empty lines inside a continuation are dropped, as Docker does.
                if i > first && (body.trim_start().starts_with('#') || body.trim().is_empty()) {
                    i += 1;
                    if i >= lines.len() {
                        break;
                    }
                    continue;
                }
                match body.strip_suffix(escape) {
                    Some(rest) => {
                        logical.push_str(rest);
                        logical.push(' ');
                        i += 1;
                        if i >= lines.len() {
                            break;
                        }
                    }
                    None => {
                        logical.push_str(body);
                        i += 1;
                        break;
                    }
                }
            }
            // Markers are read on the joined line, so a quote opened before a continuation
            // still hides a `<<` after it.
            let heredoc_ends = if takes_heredocs {
                heredoc_markers(&logical, escape)
            } else {
                Vec::new()
            };
            let heredoc = !heredoc_ends.is_empty();
            // Heredoc bodies run until their terminator lines.
            for end in heredoc_ends {
                while i < lines.len() {
                    let l = lines[i].trim();
                    logical.push('\n');
                    logical.push_str(&lines[i]);
                    i += 1;
                    if l == end {
                        break;
                    }
                }
            }
            let logical = logical.trim().to_owned();
            let (keyword, rest) = logical
                .split_once(char::is_whitespace)
                .unwrap_or((logical.as_str(), ""));
            let keyword = keyword.to_ascii_uppercase();
            let mut rest = rest.trim_start();
            let mut flags = Vec::new();
            while let Some(flag_rest) = rest.strip_prefix("--") {
                let end = flag_rest
                    .find(char::is_whitespace)
                    .unwrap_or(flag_rest.len());
                flags.push(format!("--{}", &flag_rest[..end]));
                rest = flag_rest[end..].trim_start();
            }
            if keyword == "FROM" {
                if seen_from {
                    stage += 1;
                }
                seen_from = true;
            }
            instructions.push(Instruction {
                first_line: first,
                last_line: i - 1,
                keyword,
                flags,
                args: rest.to_owned(),
                json_form: is_json_form(rest),
                heredoc,
                stage,
            });
        }
        Dockerfile {
            lines,
            instructions,
            escape,
            directives,
        }
    }

    /// The last stage's instructions (the image that ships).
    pub fn final_stage(&self) -> impl Iterator<Item = (usize, &Instruction)> {
        let last = self.instructions.iter().map(|i| i.stage).max().unwrap_or(0);
        self.instructions
            .iter()
            .enumerate()
            .filter(move |(_, i)| i.stage == last)
    }

    /// The instruction of the final stage that made the layer `history` describes: RUN by its
    /// command text; COPY and ADD by position, counted from the end (`copies_after`: how many
    /// COPY/ADD layers the image has above this one), since base-image layers come first.
    pub fn instruction_for(
        &self,
        history: &HistoryEntry,
        copies_after: Option<usize>,
    ) -> Option<usize> {
        let made = normalize(&history_command(&history.created_by));
        let instr = history.instruction();
        if instr.starts_with("RUN ")
            || history.created_by.contains("/bin/sh -c") && !history.created_by.contains("#(nop)")
        {
            return self
                .final_stage()
                .find(|(_, i)| i.keyword == "RUN" && !i.json_form && normalize(&i.args) == made)
                .or_else(|| {
                    self.final_stage().find(|(_, i)| {
                        i.keyword == "RUN"
                            && made.contains(&normalize(&i.args))
                            && !i.args.is_empty()
                    })
                })
                .map(|(n, _)| n);
        }
        if instr.starts_with("COPY") || instr.starts_with("ADD") {
            let copies: Vec<usize> = self
                .final_stage()
                .filter(|(_, i)| i.keyword == "COPY" || i.keyword == "ADD")
                .map(|(n, _)| n)
                .collect();
            return copies_after
                .and_then(|after| copies.len().checked_sub(after + 1))
                .map(|k| copies[k]);
        }
        None
    }
}

/// The exec form: the arguments read as a JSON array of strings (`[ -f x ] && …` is a
/// shell command that happens to start with a bracket).
fn is_json_form(args: &str) -> bool {
    args.starts_with('[') && serde_json::from_str::<Vec<String>>(args.trim()).is_ok()
}

/// Heredoc terminators of a line, as BuildKit finds them: a shell word of its own, outside
/// quotes, of the form `[n]<<[-]WORD` (`<<EOF`, `2<<eof`, `<<-"EOF"`, `<<'EOF'`), where WORD
/// starts with a letter or `_`. So `print(1<<x)` in quotes, `$((1<<2))` and the here-string
/// `<<<` are not heredocs.
fn heredoc_markers(line: &str, escape: char) -> Vec<String> {
    raw_words(line, escape)
        .iter()
        .filter_map(|w| heredoc_name(w))
        .collect()
}

/// `[n]<<[-]WORD` → WORD without its quotes.
fn heredoc_name(word: &str) -> Option<String> {
    let rest = word.trim_start_matches(|c: char| c.is_ascii_digit());
    let rest = rest.strip_prefix("<<")?;
    let rest = rest.strip_prefix('-').unwrap_or(rest);
    if rest.contains('<') {
        return None;
    }
    let name = ['"', '\'']
        .iter()
        .find_map(|q| rest.strip_prefix(*q).and_then(|r| r.strip_suffix(*q)))
        .unwrap_or(rest);
    let name: String = name
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
        .collect();
    name.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
        .then_some(name)
}

/// Splits a line at whitespace outside quotes and escapes, keeping quotes and escapes in the
/// words (BuildKit's lexer with raw quotes), so a quoted `"<<EOF"` stays visibly quoted.
fn raw_words(line: &str, escape: char) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quote: Option<char> = None;
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match quote {
            Some(q) => {
                cur.push(c);
                if c == q {
                    quote = None;
                } else if q == '"' && c == escape {
                    if let Some(n) = chars.next() {
                        cur.push(n);
                    }
                }
            }
            None if c == escape => {
                cur.push(c);
                if let Some(n) = chars.next() {
                    cur.push(n);
                }
            }
            None if c == '"' || c == '\'' => {
                quote = Some(c);
                cur.push(c);
            }
            None if c.is_whitespace() => {
                if !cur.is_empty() {
                    out.push(std::mem::take(&mut cur));
                }
            }
            None => cur.push(c),
        }
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

/// The command a history entry ran: `/bin/sh -c X` → `X`; BuildKit's `RUN /bin/sh -c X # buildkit`.
fn history_command(created_by: &str) -> String {
    let s = created_by.trim();
    let s = s.strip_suffix("# buildkit").unwrap_or(s).trim();
    let s = s.strip_prefix("RUN ").unwrap_or(s);
    let s = match s.strip_prefix('|') {
        Some(rest) => rest.find("/bin/sh -c ").map(|p| &rest[p..]).unwrap_or(rest),
        None => s,
    };
    s.strip_prefix("/bin/sh -c ").unwrap_or(s).to_owned()
}

/// Whitespace-insensitive form for comparing commands.
fn normalize(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    const DF: &str = "# syntax=docker/dockerfile:1\n# escape=\\\nARG PY=3.12\nFROM python:${PY} AS builder\nRUN --mount=type=cache,target=/root/.cache/pip \\\n    pip install -r requirements.txt\n\nFROM python:${PY}-slim\n# the app\nRUN apt-get update && \\\n    # a comment in a continuation\n    apt-get install -y curl\nCOPY --from=builder /opt/venv /opt/venv\nCOPY . /app\nRUN <<EOF\nset -e\necho hi\nEOF\nCMD [\"python\", \"app.py\"]\n";

    #[test]
    fn reads_directives_continuations_flags_stages_and_heredocs() {
        let df = Dockerfile::parse(DF);
        let kw: Vec<&str> = df.instructions.iter().map(|i| i.keyword.as_str()).collect();
        assert_eq!(
            kw,
            vec!["ARG", "FROM", "RUN", "FROM", "RUN", "COPY", "COPY", "RUN", "CMD"]
        );
        let run = &df.instructions[2];
        assert_eq!(
            run.flags,
            vec!["--mount=type=cache,target=/root/.cache/pip"]
        );
        assert_eq!(run.args, "pip install -r requirements.txt");
        assert_eq!((run.first_line, run.last_line), (4, 5));
        let apt = &df.instructions[4];
        assert_eq!(
            apt.args.split_whitespace().collect::<Vec<_>>().join(" "),
            "apt-get update && apt-get install -y curl"
        );
        assert_eq!(apt.stage, 1);
        assert_eq!(
            df.instructions[7].last_line, 17,
            "heredoc body belongs to the RUN"
        );
        assert!(df.instructions[8].json_form);
        assert_eq!(df.instructions[5].flags, vec!["--from=builder"]);
    }

    #[test]
    fn finds_the_instruction_behind_a_layer() {
        let df = Dockerfile::parse(DF);
        let h = |s: &str| HistoryEntry {
            created_by: s.into(),
            ..Default::default()
        };
        assert_eq!(
            df.instruction_for(
                &h("/bin/sh -c apt-get update &&     apt-get install -y curl"),
                None
            ),
            Some(4)
        );
        assert_eq!(
            df.instruction_for(
                &h("RUN /bin/sh -c apt-get update && apt-get install -y curl # buildkit"),
                None
            ),
            Some(4)
        );
        // The last COPY layer of the image is the last COPY of the final stage.
        assert_eq!(
            df.instruction_for(&h("/bin/sh -c #(nop) COPY dir:abc in /app "), Some(0)),
            Some(6)
        );
        assert_eq!(
            df.instruction_for(&h("/bin/sh -c #(nop) COPY dir:def in /opt/venv "), Some(1)),
            Some(5)
        );
        assert_eq!(
            df.instruction_for(&h("/bin/sh -c pip install -r requirements.txt"), None),
            None,
            "builder stage is not the image"
        );
    }
}
