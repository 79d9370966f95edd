//! The Dockerfile reader on Dockerfiles of the shapes people write: the official python
//! image's, Poetry and uv multi-stage builds, BuildKit heredocs and mounts, the backtick
//! escape, ONBUILD, JSON and shell forms, comments and blank lines inside continuations.
//! Each case lists every instruction it must find, with its stage and line span.
//!
//! Why no crate: `dockerfile-parser` (the one maintained Rust parser) has no heredocs and
//! drops comments; a proposal must write the user's lines back exactly.

use pyslim::core::dockerfile::Dockerfile;

/// (keyword, stage, first line, last line) for each instruction.
fn shape(df: &Dockerfile) -> Vec<(String, usize, usize, usize)> {
    df.instructions
        .iter()
        .map(|i| (i.keyword.clone(), i.stage, i.first_line, i.last_line))
        .collect()
}

fn s(k: &str, stage: usize, a: usize, b: usize) -> (String, usize, usize, usize) {
    (k.to_owned(), stage, a, b)
}

#[test]
fn the_official_python_image_shape() {
    let text = r#"FROM debian:bookworm-slim

# ensure local python is preferred over distribution python
ENV PATH /usr/local/bin:$PATH

# runtime dependencies
RUN set -eux; \
	apt-get update; \
	apt-get install -y --no-install-recommends \
		ca-certificates \
		netbase \
		tzdata \
	; \
	rm -rf /var/lib/apt/lists/*

ENV GPG_KEY A035C8C19219BA821ECEA86B64E628F8D684696D
ENV PYTHON_VERSION 3.11.10

RUN set -eux; \
	\
	savedAptMark="$(apt-mark showmanual)"; \
	apt-get update; \
# a comment in the middle of a continuation
	apt-get install -y --no-install-recommends dpkg-dev gcc; \
	python3 --version

CMD ["python3"]
"#;
    let df = Dockerfile::parse(text);
    assert_eq!(
        shape(&df),
        vec![
            s("FROM", 0, 0, 0),
            s("ENV", 0, 3, 3),
            s("RUN", 0, 6, 13),
            s("ENV", 0, 15, 15),
            s("ENV", 0, 16, 16),
            s("RUN", 0, 18, 24),
            s("CMD", 0, 26, 26),
        ]
    );
    let run = &df.instructions[5];
    assert!(run
        .args
        .contains("apt-get install -y --no-install-recommends dpkg-dev gcc;"));
    assert!(!run.args.contains("a comment"), "{}", run.args);
    assert!(df.instructions[6].json_form);
}

#[test]
fn poetry_multi_stage_with_mounts_and_copy_from() {
    let text = r#"# syntax=docker/dockerfile:1.7
ARG PYTHON_VERSION=3.12
ARG POETRY_VERSION=1.8.3

FROM python:${PYTHON_VERSION}-slim AS base
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1

FROM base AS builder
ARG POETRY_VERSION
RUN --mount=type=cache,target=/root/.cache/pip \
    pip install "poetry==${POETRY_VERSION}"
WORKDIR /src
COPY pyproject.toml poetry.lock ./
RUN --mount=type=cache,target=/root/.cache/pypoetry \
    --mount=type=secret,id=netrc,target=/root/.netrc \
    poetry export -f requirements.txt -o requirements.txt

FROM base AS runtime
COPY --from=builder --chown=10001:10001 /src/requirements.txt /tmp/
RUN pip install --no-cache-dir -r /tmp/requirements.txt
COPY --link . /app
USER 10001
ENTRYPOINT ["python", "-m", "app"]
"#;
    let df = Dockerfile::parse(text);
    let kw: Vec<(String, usize)> = df
        .instructions
        .iter()
        .map(|i| (i.keyword.clone(), i.stage))
        .collect();
    let expect: Vec<(String, usize)> = [
        ("ARG", 0),
        ("ARG", 0),
        ("FROM", 0),
        ("ENV", 0),
        ("FROM", 1),
        ("ARG", 1),
        ("RUN", 1),
        ("WORKDIR", 1),
        ("COPY", 1),
        ("RUN", 1),
        ("FROM", 2),
        ("COPY", 2),
        ("RUN", 2),
        ("COPY", 2),
        ("USER", 2),
        ("ENTRYPOINT", 2),
    ]
    .iter()
    .map(|(k, s)| (k.to_string(), *s))
    .collect();
    assert_eq!(kw, expect);
    let mounts = &df.instructions[9];
    assert_eq!(
        mounts.flags,
        vec![
            "--mount=type=cache,target=/root/.cache/pypoetry",
            "--mount=type=secret,id=netrc,target=/root/.netrc"
        ]
    );
    assert_eq!(
        mounts.args,
        "poetry export -f requirements.txt -o requirements.txt"
    );
    assert_eq!(
        df.instructions[11].flags,
        vec!["--from=builder", "--chown=10001:10001"]
    );
    assert_eq!(df.instructions[13].flags, vec!["--link"]);
    let last: Vec<usize> = df.final_stage().map(|(n, _)| n).collect();
    assert_eq!(last, (10..16).collect::<Vec<_>>());
}

#[test]
fn heredocs_end_at_their_marker_and_may_be_quoted_or_dashed() {
    let text = "FROM python:3.12-slim\nRUN <<EOF\nset -e\npip install flask\nEOF\nCOPY <<-\"CONF\" /etc/app.conf\n\tkey = value\n\tCONF\nRUN <<'A' <<B\necho a\nA\necho b\nB\nCMD python app.py\n";
    let df = Dockerfile::parse(text);
    assert_eq!(
        shape(&df),
        vec![
            s("FROM", 0, 0, 0),
            s("RUN", 0, 1, 4),
            s("COPY", 0, 5, 7),
            s("RUN", 0, 8, 12),
            s("CMD", 0, 13, 13),
        ]
    );
    assert!(!df.instructions[4].json_form);
}

#[test]
fn the_escape_directive_changes_the_continuation_character() {
    let text = "# escape=`\nFROM mcr.microsoft.com/windows/servercore:ltsc2022\nRUN powershell -Command `\n    Write-Host C:\\path\\to `\n    ; exit 0\nWORKDIR C:\\app\n";
    let df = Dockerfile::parse(text);
    assert_eq!(df.escape, '`');
    assert_eq!(
        shape(&df),
        vec![s("FROM", 0, 1, 1), s("RUN", 0, 2, 4), s("WORKDIR", 0, 5, 5)]
    );
    assert!(df.instructions[1].args.contains("C:\\path\\to"));
}

#[test]
fn uv_build_with_lowercase_keywords_blank_continuation_lines_and_onbuild() {
    let text = "from ghcr.io/astral-sh/uv:python3.12-bookworm-slim as build\nenv UV_COMPILE_BYTECODE=1 UV_LINK_MODE=copy\nworkdir /app\nrun --mount=type=cache,target=/root/.cache/uv \\\n\n    --mount=type=bind,source=uv.lock,target=uv.lock \\\n    uv sync --frozen --no-install-project --no-dev\nonbuild COPY . /app\n\nFROM python:3.12-slim-bookworm\nCOPY --from=build --chown=app:app /app /app\nHEALTHCHECK --interval=30s CMD [\"python\", \"-c\", \"import app\"]\nCMD [\"python\", \"-m\", \"app\"]\n";
    let df = Dockerfile::parse(text);
    let kw: Vec<&str> = df.instructions.iter().map(|i| i.keyword.as_str()).collect();
    assert_eq!(
        kw,
        vec![
            "FROM",
            "ENV",
            "WORKDIR",
            "RUN",
            "ONBUILD",
            "FROM",
            "COPY",
            "HEALTHCHECK",
            "CMD"
        ]
    );
    let run = &df.instructions[3];
    assert_eq!((run.first_line, run.last_line), (3, 6));
    assert_eq!(run.flags.len(), 2);
    assert_eq!(run.args, "uv sync --frozen --no-install-project --no-dev");
    assert_eq!(df.instructions[5].stage, 1);
}

#[test]
fn a_dockerfile_that_ends_inside_a_continuation_or_heredoc_is_still_read() {
    for text in [
        "FROM x\nRUN echo a \\\n",
        "FROM x\nRUN <<EOF\necho never closed\n",
        "FROM x\nRUN echo a \\",
        "",
        "\n\n# only comments\n",
    ] {
        let df = Dockerfile::parse(text);
        for i in &df.instructions {
            assert!(i.first_line <= i.last_line && i.last_line < df.lines.len().max(1));
        }
    }
}

#[test]
fn lowercase_heredocs_and_shell_lines_that_only_look_like_heredocs() {
    let text = "FROM x\nRUN <<eof\nset -e\necho hi\neof\nRUN echo $((1<<2)) && cat <<<\"here string\"\nCMD python app.py\n";
    let df = Dockerfile::parse(text);
    assert_eq!(
        shape(&df),
        vec![
            s("FROM", 0, 0, 0),
            s("RUN", 0, 1, 4),
            s("RUN", 0, 5, 5),
            s("CMD", 0, 6, 6)
        ]
    );
    assert!(df.instructions[1].heredoc);
    assert!(!df.instructions[2].heredoc);
}

#[test]
fn json_form_only_when_the_arguments_are_a_json_array_of_strings() {
    let df = Dockerfile::parse(
        "FROM x\nRUN [ -f /app/x ] && echo ok\nRUN [\"pip\", \"install\", \"flask\"]\nCMD [\"python\", 1]\nENTRYPOINT [\"python\"]\n",
    );
    let json: Vec<bool> = df.instructions.iter().map(|i| i.json_form).collect();
    assert_eq!(json, vec![false, false, true, false, true]);
}

#[test]
fn a_byte_order_mark_and_unknown_directives_are_not_instructions_or_directives() {
    let df = Dockerfile::parse("\u{feff}# syntax=docker/dockerfile:1\nFROM x\nRUN a\n");
    assert_eq!(shape(&df), vec![s("FROM", 0, 1, 1), s("RUN", 0, 2, 2)]);
    assert_eq!(df.directives, vec!["# syntax=docker/dockerfile:1"]);

    // `# maintainer=me` is a comment, which ends the directives: the escape below is too.
    let df = Dockerfile::parse(
        "# Syntax = docker/dockerfile:1\n# maintainer=me\n# escape=`\nFROM x\nRUN a `\n  b\n",
    );
    assert_eq!(df.directives, vec!["# Syntax = docker/dockerfile:1"]);
    assert_eq!(df.escape, '\\');
    assert_eq!(
        shape(&df),
        vec![s("FROM", 0, 3, 3), s("RUN", 0, 4, 4), s("B", 0, 5, 5)]
    );
}

/// BuildKit starts a heredoc only at a shell word of its own outside quotes (`<<EOF`,
/// `2<<EOF`, `<<-"EOF"`); `<<` inside quotes or in the middle of a word is just text.
#[test]
fn heredoc_markers_count_only_as_unquoted_words_of_their_own() {
    let text = "FROM python:3.12-slim\nRUN python -c \"print(1<<x)\"\nRUN echo 'a <<EOF b' && x=1<<y\nRUN cat <<EOF > /etc/app.conf\nkey = value\nEOF\nRUN python - 2<<'PY'\nprint(1)\nPY\nCOPY . /app\nCMD python app.py\n";
    let df = Dockerfile::parse(text);
    assert_eq!(
        shape(&df),
        vec![
            s("FROM", 0, 0, 0),
            s("RUN", 0, 1, 1),
            s("RUN", 0, 2, 2),
            s("RUN", 0, 3, 5),
            s("RUN", 0, 6, 8),
            s("COPY", 0, 9, 9),
            s("CMD", 0, 10, 10),
        ]
    );
    let heredoc: Vec<bool> = df.instructions.iter().map(|i| i.heredoc).collect();
    assert_eq!(heredoc, vec![false, false, false, true, true, false, false]);
}
