//! Dockerfiles: reading one (parse.rs), finding which instruction made which layer, and
//! writing edits back as a new text (rewrite.rs). Pure text in, text out.

pub mod parse;
pub mod rewrite;

pub use parse::{Dockerfile, Instruction};

use crate::image::{Image, Layer};

/// For each layer of the image, the final-stage instruction of `df` that made it, if any.
/// COPY and ADD layers are matched by position from the top, so each gets the number of
/// COPY/ADD layers above it.
pub fn layer_instructions(df: &Dockerfile, image: &Image) -> Vec<Option<usize>> {
    let is_copy = |l: &Layer| {
        let i = l.instruction();
        i.starts_with("COPY") || i.starts_with("ADD")
    };
    let mut copies_above = 0usize;
    let mut out = vec![None; image.layers.len()];
    for (n, layer) in image.layers.iter().enumerate().rev() {
        let copy = is_copy(layer);
        if let Some(hist) = layer.history.as_ref() {
            out[n] = df.instruction_for(hist, copy.then_some(copies_above));
        }
        if copy {
            copies_above += 1;
        }
    }
    out
}

/// The first thing in `df` only BuildKit can build, as `(line, instruction, what)` (line
/// 1-based), or None. The classic builder (the engine API's default, which `--build` uses)
/// rejects these, so pyslim says so before it starts.
pub fn buildkit_only(df: &Dockerfile) -> Option<(usize, String, String)> {
    const RUN_FLAGS: &[&str] = &["--mount", "--network", "--security"];
    const COPY_FLAGS: &[&str] = &[
        "--link",
        "--chmod",
        "--parents",
        "--exclude",
        "--checksum",
        "--keep-git-dir",
    ];
    df.instructions.iter().find_map(|i| {
        let flag_name = |f: &String| f.split('=').next().unwrap_or(f).to_owned();
        let what = if i.heredoc {
            Some("a heredoc".to_owned())
        } else {
            let banned = match i.keyword.as_str() {
                "RUN" => RUN_FLAGS,
                "COPY" | "ADD" => COPY_FLAGS,
                _ => &[],
            };
            i.flags
                .iter()
                .map(flag_name)
                .find(|f| banned.contains(&f.as_str()))
                .map(|f| format!("{} {f}", i.keyword))
        }?;
        let first = df
            .lines
            .get(i.first_line)
            .map(|l| crate::format::one_line(l));
        Some((i.first_line + 1, first.unwrap_or_default(), what))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buildkit_only_syntax_is_found_with_its_line() {
        let df = Dockerfile::parse(
            "FROM x\nRUN echo ok\nCOPY --from=a --chown=1 /a /a\nRUN --mount=type=cache,target=/root/.cache pip install x\n",
        );
        assert_eq!(
            buildkit_only(&df),
            Some((
                4,
                "RUN --mount=type=cache,target=/root/.cache pip install x".into(),
                "RUN --mount".into()
            ))
        );
        let df = Dockerfile::parse("FROM x\nCOPY --link . /app\n");
        assert_eq!(buildkit_only(&df).unwrap().2, "COPY --link");
        let df = Dockerfile::parse("FROM x\nRUN <<EOF\necho hi\nEOF\n");
        assert_eq!(buildkit_only(&df).unwrap().2, "a heredoc");
        let df = Dockerfile::parse(
            "# syntax=docker/dockerfile:1\nFROM x\nCOPY --chown=1:1 . /app\nRUN echo $((1<<2))\n",
        );
        assert_eq!(buildkit_only(&df), None);
    }
}
