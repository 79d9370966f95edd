//! RUN steps pyslim rewrites in the builder (pip's `--user` dropped, apt-get turned into
//! `apk add`): the proposal must still parse into the instructions it was written with.

use super::{propose_with, stage};
use pyslim::core::dockerfile::{Dockerfile, Instruction};

/// The proposal's builder stage, parsed, with the instruction that holds `needle`.
fn builder_run<'a>(df: &'a Dockerfile, needle: &str) -> &'a Instruction {
    df.instructions
        .iter()
        .find(|i| i.stage == 0 && i.keyword == "RUN" && i.args.contains(needle))
        .unwrap_or_else(|| panic!("no builder RUN with {needle}: {:#?}", df.instructions))
}

/// The builder's instructions after its FROM, as `KEYWORD args`, one line each.
fn builder_instructions(df: &Dockerfile) -> Vec<String> {
    df.instructions
        .iter()
        .filter(|i| i.stage == 0 && i.keyword != "FROM")
        .map(|i| format!("{} {}", i.keyword, i.args))
        .collect()
}

/// `--user` first, in the middle and last on the continuation lines of one RUN: the RUN
/// keeps its other words and ends where it ended, so WORKDIR is still an instruction.
#[test]
fn dropping_user_from_a_continued_run_leaves_no_dangling_continuation() {
    let shapes = [
        ("last", "RUN /opt/venv/bin/pip install \\\n    -r requirements.txt \\\n    --user\n"),
        ("first", "RUN /opt/venv/bin/pip install \\\n    --user \\\n    -r requirements.txt\n"),
        ("middle", "RUN /opt/venv/bin/pip install \\\n    --upgrade \\\n    --user \\\n    -r requirements.txt\n"),
        ("alone, then more", "RUN /opt/venv/bin/pip install -r requirements.txt \\\n    --user \\\n    && echo done\n"),
    ];
    for (what, run) in shapes {
        let dockerfile = format!(
            "FROM debian-python:3.11\nRUN python3 -m venv /opt/venv\n{run}WORKDIR /app\nCOPY . /app/\nCMD [\"python\", \"main.py\"]\n"
        );
        let (_dir, doc) = propose_with(&dockerfile, "slim");
        let text = doc["proposal"]["dockerfile"].as_str().unwrap();
        let builder = stage(text, 0);
        let df = Dockerfile::parse(text);
        let got = builder_instructions(&df);
        assert!(
            got.iter().any(|i| i == "WORKDIR /app"),
            "{what}: WORKDIR joined onto the RUN:\n{builder}\n{got:#?}"
        );
        let pip = builder_run(&df, "pip install");
        let words: Vec<&str> = pip.args.split_whitespace().collect();
        assert!(
            words.contains(&"-r") && words.contains(&"requirements.txt"),
            "{what}: {words:?}"
        );
        assert!(
            !words.contains(&"--user") && !words.contains(&"WORKDIR") && !words.contains(&"\\"),
            "{what}: {words:?}"
        );
        // The RUN's written lines: each but the last continues, none is left blank.
        let lines = &df.lines[pip.first_line..=pip.last_line];
        let (last, rest) = lines.split_last().unwrap();
        assert!(
            rest.iter().all(|l| l.trim_end().ends_with('\\')),
            "{what}: {lines:#?}"
        );
        assert!(
            !last.trim_end().ends_with('\\') && !last.trim().is_empty(),
            "{what}: the RUN ends on a continuation: {lines:#?}"
        );
        // The same instructions as a proposal of the Dockerfile without --user.
        let plain = dockerfile
            .replace("--user \\\n    ", "")
            .replace(" \\\n    --user", "");
        let (_dir, doc) = propose_with(&plain, "slim");
        let expected = builder_instructions(&Dockerfile::parse(
            doc["proposal"]["dockerfile"].as_str().unwrap(),
        ));
        assert_eq!(
            got.len(),
            expected.len(),
            "{what}:\n{got:#?}\n{expected:#?}"
        );
    }
}

/// On Alpine, apt-get inside another command (`then`, `sudo`, `xargs`, a subshell) still
/// counts as the install: the builder has an `apk add` and no apt-get left to fail on.
#[test]
fn alpine_replaces_apt_get_run_inside_other_commands() {
    for run in [
        "if [ -f requirements.txt ]; then apt-get install -y gcc libpq-dev; fi",
        "sudo apt-get install -y gcc libpq-dev",
        "xargs -a /dev/null apt-get install -y gcc libpq-dev",
        "(apt-get update && apt-get install -y gcc libpq-dev)",
    ] {
        let dockerfile = format!(
            "FROM debian-python:3.11\nRUN {run}\nRUN python3 -m venv /opt/venv && /opt/venv/bin/pip install flask psycopg2\nWORKDIR /app\nCOPY . /app/\nCMD [\"python\", \"main.py\"]\n"
        );
        let (_dir, doc) = propose_with(&dockerfile, "alpine");
        let text = doc["proposal"]["dockerfile"].as_str().unwrap();
        let builder = stage(text, 0);
        let df = Dockerfile::parse(text);
        let runs: Vec<&str> = df
            .instructions
            .iter()
            .filter(|i| i.stage == 0 && i.keyword == "RUN")
            .map(|i| i.args.as_str())
            .collect();
        assert!(
            runs.iter().all(|r| !r.contains("apt-get")),
            "{run}: apt-get left on Alpine:\n{builder}"
        );
        assert!(
            runs.contains(&"apk add --no-cache build-base gcc postgresql-dev"),
            "{run}: no apk add:\n{builder}"
        );
        assert!(
            builder.contains("this RUN is only the apk add; carry its other commands over by hand"),
            "{run}: the user is not told what was left out:\n{builder}"
        );
    }
}
