//! Edits to a Dockerfile, applied to its lines: cleanup appended to the RUN that made the
//! bytes (same layer, so the bytes never ship), ENV lines in the final stage, and comments that
//! say why. The result is a new text; the caller writes it where the user chose.

use std::collections::BTreeMap;

use super::parse::Dockerfile;

#[derive(Debug, Clone, PartialEq)]
pub enum Edit {
    /// `&& shell` at the end of a RUN's command.
    AppendToRun {
        instruction: usize,
        shell: String,
        why: String,
    },
    /// `ENV NAME=value` in the final stage, after its FROM.
    AddEnv { assignment: String, why: String },
    /// A comment line above an instruction (for fixes that need a person).
    Note { instruction: usize, text: String },
}

/// The Dockerfile with the edits applied.
pub fn apply(df: &Dockerfile, edits: &[Edit]) -> String {
    let mut before: BTreeMap<usize, Vec<String>> = BTreeMap::new();
    let mut append: BTreeMap<usize, Vec<String>> = BTreeMap::new();
    let mut env: Vec<(String, String)> = Vec::new();
    for e in edits {
        match e {
            Edit::AppendToRun {
                instruction,
                shell,
                why,
            } => {
                let ins = &df.instructions[*instruction];
                // A heredoc's command ends inside its body: `&& …` cannot go on the first line.
                if ins.keyword != "RUN" || ins.json_form || ins.heredoc {
                    before
                        .entry(*instruction)
                        .or_default()
                        .push(format!("# pyslim: {why}; add to this step: {shell}"));
                    continue;
                }
                let list = append.entry(*instruction).or_default();
                if !list.contains(shell) {
                    list.push(shell.clone());
                    before
                        .entry(*instruction)
                        .or_default()
                        .push(format!("# pyslim: {why}"));
                }
            }
            Edit::AddEnv { assignment, why } => {
                if !env.iter().any(|(a, _)| a == assignment) {
                    env.push((assignment.clone(), why.clone()));
                }
            }
            Edit::Note { instruction, text } => before
                .entry(*instruction)
                .or_default()
                .push(format!("# pyslim: {text}")),
        }
    }
    let last_from = df
        .final_stage()
        .find(|(_, i)| i.keyword == "FROM")
        .map(|(n, _)| n);
    let mut out: Vec<String> = Vec::new();
    for (n, ins) in df.instructions.iter().enumerate() {
        // Lines between the previous instruction and this one (comments, blanks) stay.
        let start = if n == 0 {
            0
        } else {
            df.instructions[n - 1].last_line + 1
        };
        out.extend(df.lines[start..ins.first_line].iter().cloned());
        if let Some(notes) = before.get(&n) {
            out.extend(notes.iter().cloned());
        }
        let mut body: Vec<String> = df.lines[ins.first_line..=ins.last_line].to_vec();
        if let Some(shells) = append.get(&n) {
            if let Some(last) = body.last_mut() {
                let indent = "    ";
                let mut tail = format!("{} {}", last.trim_end(), df.escape);
                for (k, s) in shells.iter().enumerate() {
                    let cont = if k + 1 < shells.len() {
                        format!(" {}", df.escape)
                    } else {
                        String::new()
                    };
                    tail.push_str(&format!("\n{indent}&& {s}{cont}"));
                }
                *last = tail;
            }
        }
        out.extend(body);
        if Some(n) == last_from && !env.is_empty() {
            for (_, why) in &env {
                out.push(format!("# pyslim: {why}"));
            }
            out.push(format!(
                "ENV {}",
                env.iter()
                    .map(|(a, _)| a.as_str())
                    .collect::<Vec<_>>()
                    .join(" ")
            ));
        }
    }
    if let Some(last) = df.instructions.last() {
        out.extend(df.lines[last.last_line + 1..].iter().cloned());
    }
    let mut text = out.join("\n");
    text.push('\n');
    text
}

/// A unified diff of `old` → `new`, as `git apply` and `patch -p1` read it.
pub fn unified_diff(old: &str, new: &str, path: &str) -> String {
    similar::TextDiff::from_lines(old, new)
        .unified_diff()
        .context_radius(3)
        .header(&format!("a/{path}"), &format!("b/{path}"))
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cleanup_joins_the_run_that_made_the_bytes_and_env_follows_from() {
        let text = "FROM python:3.12-slim\nRUN apt-get update && \\\n    apt-get install -y gcc\nCOPY . /app\nCMD [\"python\", \"/app/app.py\"]\n";
        let df = Dockerfile::parse(text);
        let edits = vec![
            Edit::AppendToRun {
                instruction: 1,
                shell: "rm -rf /var/lib/apt/lists/*".into(),
                why: "apt lists (42 MiB)".into(),
            },
            Edit::AppendToRun {
                instruction: 1,
                shell: "find / -name '*.a' -delete".into(),
                why: "static libraries (6 MiB)".into(),
            },
            Edit::AddEnv {
                assignment: "PYTHONDONTWRITEBYTECODE=1".into(),
                why: "no bytecode at run time".into(),
            },
            Edit::Note {
                instruction: 2,
                text: "add .git to .dockerignore".into(),
            },
        ];
        let new = apply(&df, &edits);
        let expected = "FROM python:3.12-slim\n# pyslim: no bytecode at run time\nENV PYTHONDONTWRITEBYTECODE=1\n# pyslim: apt lists (42 MiB)\n# pyslim: static libraries (6 MiB)\nRUN apt-get update && \\\n    apt-get install -y gcc \\\n    && rm -rf /var/lib/apt/lists/* \\\n    && find / -name '*.a' -delete\n# pyslim: add .git to .dockerignore\nCOPY . /app\nCMD [\"python\", \"/app/app.py\"]\n";
        assert_eq!(new, expected);
        // The edited file parses back to the same instructions, the RUN now with the cleanup.
        let again = Dockerfile::parse(&new);
        assert_eq!(again.instructions.len(), df.instructions.len() + 1);
        assert!(again.instructions[2]
            .args
            .ends_with("&& find / -name '*.a' -delete"));
        let diff = unified_diff(text, &new, "Dockerfile");
        assert!(
            diff.starts_with("--- a/Dockerfile\n+++ b/Dockerfile\n"),
            "{diff}"
        );
        assert!(diff.contains("+    && rm -rf /var/lib/apt/lists/* \\\n"));
    }

    #[test]
    fn a_shift_in_quotes_is_not_a_heredoc_so_cleanup_still_joins_the_run() {
        let text = "FROM python:3.12-slim\nRUN python -c \"print(1<<4)\" && apt-get update\nCMD python app.py\n";
        let df = Dockerfile::parse(text);
        let edits = vec![Edit::AppendToRun {
            instruction: 1,
            shell: "rm -rf /var/lib/apt/lists/*".into(),
            why: "apt lists".into(),
        }];
        let new = apply(&df, &edits);
        assert!(
            new.contains("apt-get update \\\n    && rm -rf /var/lib/apt/lists/*\n"),
            "{new}"
        );
    }
}
