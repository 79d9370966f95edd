//! The user's own build steps, the raw material of a proposal: the final stage of their
//! Dockerfile, or, with no Dockerfile, the steps the image history records after its base.

use crate::dockerfile::Dockerfile;
use crate::image::{HistoryEntry, Image};

/// One instruction of the user's final stage.
#[derive(Debug, Clone, PartialEq)]
pub struct Step {
    /// `RUN`, `COPY`, … in upper case.
    pub keyword: String,
    pub flags: Vec<String>,
    /// Continuations joined, as the parser gives them.
    pub args: String,
    /// The instruction as it should be written again (its original lines, or a rebuilt line).
    pub text: String,
    /// Said above the step when it is written again (e.g. "reconstructed from history").
    pub comments: Vec<String>,
}

impl Step {
    fn from_line(line: String, comments: Vec<String>) -> Step {
        let (keyword, rest) = line.split_once(' ').unwrap_or((line.as_str(), ""));
        Step {
            keyword: keyword.to_ascii_uppercase(),
            flags: Vec::new(),
            args: rest.trim().to_owned(),
            text: line.clone(),
            comments,
        }
    }
}

/// What the user built on top of their base image.
#[derive(Debug, Clone)]
pub struct UserSteps {
    /// Parser directives, verbatim: the proposal's first lines.
    pub directives: Vec<String>,
    /// The Dockerfile's escape character (`\\` unless a directive says `` ` ``).
    pub escape: char,
    /// Every line of the user's Dockerfile, so the renderer can tell theirs from its own.
    pub user_lines: Vec<String>,
    /// `ARG` lines and comments before the first FROM, kept verbatim.
    pub pre_from: Vec<String>,
    /// Earlier stages of a multi-stage Dockerfile, kept verbatim (the final stage may copy
    /// from them).
    pub earlier_stages: Vec<String>,
    /// Names of those stages (`FROM … AS name`), so the proposal's builder name is new.
    pub stage_names: Vec<String>,
    /// The final stage's base image, as written.
    pub base: String,
    /// The final stage's instructions after its FROM.
    pub steps: Vec<Step>,
    /// True when there was no Dockerfile and the steps come from the image history.
    pub reconstructed: bool,
    /// Index of the first layer the user's steps made (layers below it are the base's).
    pub first_user_layer: usize,
    /// No layer of the image matched a step of the Dockerfile (another image's Dockerfile?):
    /// `first_user_layer` is then guessed from the history.
    pub unmatched: bool,
}

impl Default for UserSteps {
    fn default() -> Self {
        UserSteps {
            directives: Vec::new(),
            escape: '\\',
            user_lines: Vec::new(),
            pre_from: Vec::new(),
            earlier_stages: Vec::new(),
            stage_names: Vec::new(),
            base: String::new(),
            steps: Vec::new(),
            reconstructed: false,
            first_user_layer: 0,
            unmatched: false,
        }
    }
}

/// The user's steps from their Dockerfile, with the layer where they start in this image.
pub fn from_dockerfile(df: &Dockerfile, image: &Image) -> UserSteps {
    let last_stage = df.instructions.iter().map(|i| i.stage).max().unwrap_or(0);
    let mut out = UserSteps::default();
    let first_from = df
        .instructions
        .iter()
        .position(|i| i.keyword == "FROM")
        .unwrap_or(0);
    let text_of = |n: usize| -> String {
        let ins = &df.instructions[n];
        df.lines[ins.first_line..=ins.last_line].join("\n")
    };
    out.directives = df.directives.clone();
    out.escape = df.escape;
    out.user_lines = df.lines.clone();
    // Global ARGs and comments: every line before the first FROM but the directives.
    if let Some(from) = df.instructions.get(first_from) {
        out.pre_from = df.lines[df.directives.len()..from.first_line]
            .iter()
            .filter(|l| !l.trim().is_empty())
            .cloned()
            .collect();
    }
    let mut earlier = Vec::new();
    for (n, ins) in df.instructions.iter().enumerate().skip(first_from) {
        if ins.stage < last_stage {
            if ins.keyword == "FROM" {
                if let Some(name) = stage_name(&ins.args) {
                    out.stage_names.push(name);
                }
                if !earlier.is_empty() {
                    earlier.push(String::new());
                }
            }
            earlier.push(text_of(n));
            continue;
        }
        if ins.keyword == "FROM" {
            out.base = ins
                .args
                .split_whitespace()
                .next()
                .unwrap_or_default()
                .to_owned();
            if let Some(name) = stage_name(&ins.args) {
                out.stage_names.push(name);
            }
            continue;
        }
        out.steps.push(Step {
            keyword: ins.keyword.clone(),
            flags: ins.flags.clone(),
            args: ins.args.clone(),
            text: text_of(n),
            comments: Vec::new(),
        });
    }
    out.earlier_stages = earlier;
    match first_mapped_layer(df, image) {
        Some(l) => out.first_user_layer = l,
        None => {
            // Counting every layer as the base's would leave nothing to estimate: guess
            // where the base ends from the history, as without a Dockerfile, and say so.
            out.unmatched = !image.layers.is_empty();
            out.first_user_layer = reconstruct(image).first_user_layer;
        }
    }
    out
}

/// `FROM image AS name` → `name`.
fn stage_name(from_args: &str) -> Option<String> {
    let words: Vec<&str> = from_args.split_whitespace().collect();
    words
        .iter()
        .position(|w| w.eq_ignore_ascii_case("as"))
        .and_then(|p| words.get(p + 1))
        .map(|s| s.to_string())
}

/// The lowest layer whose history entry maps to an instruction of the final stage; None
/// when nothing maps, or only COPY/ADD layers do (they map by position alone, which any
/// image satisfies) while the final stage has a RUN that no layer's command matches.
fn first_mapped_layer(df: &Dockerfile, image: &Image) -> Option<usize> {
    let made = crate::dockerfile::layer_instructions(df, image);
    let is_run = |n: usize| df.instructions.get(n).is_some_and(|i| i.keyword == "RUN");
    let has_run = df.final_stage().any(|(_, i)| i.keyword == "RUN");
    let run_matched = made.iter().flatten().any(|&n| is_run(n));
    if has_run && !run_matched {
        return None;
    }
    made.iter().position(Option::is_some)
}

/// With no Dockerfile: the steps the history records after the base image's own. The base
/// ends after its rootfs (`ADD file:… in /`, `docker import`) and after the last CMD or
/// ENTRYPOINT that has layers above it (a base image ends with its CMD; the app's comes last).
pub fn reconstruct(image: &Image) -> UserSteps {
    let history = &image.history;
    let makes_layer_after = |i: usize| history[i + 1..].iter().any(|h| !h.empty_layer);
    let mut start = 0;
    for (i, h) in history.iter().enumerate() {
        let ins = h.instruction();
        let rootfs = ins.starts_with("ADD file:") && ins.trim_end().ends_with(" in /")
            || h.created_by.trim().is_empty();
        let base_end =
            (ins.starts_with("CMD") || ins.starts_with("ENTRYPOINT")) && makes_layer_after(i);
        if rootfs || base_end {
            start = i + 1;
        }
    }
    let first_user_layer = history[..start].iter().filter(|h| !h.empty_layer).count();
    let mut steps = Vec::new();
    for h in &history[start..] {
        if let Some(step) = step_from_history(h) {
            steps.push(step);
        }
    }
    UserSteps {
        base: "(unknown: not recorded in the image)".into(),
        steps,
        reconstructed: true,
        first_user_layer,
        ..Default::default()
    }
}

/// A Dockerfile line for one history entry, or None for what the runtime stage takes from
/// the image config instead (CMD, ENTRYPOINT, USER, EXPOSE, …).
fn step_from_history(h: &HistoryEntry) -> Option<Step> {
    let ins = h.instruction();
    let ins = ins.trim();
    let (keyword, rest) = ins.split_once(' ').unwrap_or((ins, ""));
    let rest = rest.trim();
    match keyword {
        "RUN" => Some(Step::from_line(format!("RUN {rest}"), Vec::new())),
        "ENV" | "ARG" | "WORKDIR" | "SHELL" => {
            Some(Step::from_line(format!("{keyword} {rest}"), Vec::new()))
        }
        "COPY" | "ADD" => {
            // Classic history says `COPY dir:<hash> in /app/` or `COPY file:<hash> in /x`;
            // BuildKit keeps the instruction as written.
            let (line, note) = match rest.split_once(" in ") {
                Some((what, dest)) => {
                    let dest = dest.trim();
                    let src = if what.starts_with("file:") {
                        dest.trim_end_matches('/')
                            .rsplit('/')
                            .next()
                            .filter(|s| !s.is_empty())
                            .unwrap_or(".")
                            .to_owned()
                    } else {
                        ".".to_owned()
                    };
                    (
                        format!("{keyword} {src} {dest}"),
                        vec![format!(
                            "reconstructed from history ({keyword} {what}): check the source path"
                        )],
                    )
                }
                None => (format!("{keyword} {rest}"), Vec::new()),
            };
            Some(Step::from_line(line, note))
        }
        _ => None,
    }
}

/// The reconstructed steps as a Dockerfile, for the diff a proposal prints.
pub fn reconstructed_text(steps: &UserSteps, image: &Image) -> String {
    let mut out = vec![
        "# Reconstructed by pyslim from the image history (no Dockerfile was given).".to_owned(),
        format!("FROM {}", steps.base),
    ];
    out.extend(steps.steps.iter().map(|s| s.text.clone()));
    out.extend(config_lines(image));
    out.join("\n") + "\n"
}

/// WORKDIR, EXPOSE, ENTRYPOINT and CMD as the image config has them.
pub fn config_lines(image: &Image) -> Vec<String> {
    let c = &image.config;
    let mut out = Vec::new();
    if !c.workdir.is_empty() && c.workdir != "/" {
        out.push(format!("WORKDIR {}", c.workdir));
    }
    for port in &c.exposed_ports {
        out.push(format!("EXPOSE {port}"));
    }
    if !c.entrypoint.is_empty() {
        out.push(format!("ENTRYPOINT {}", json_array(&c.entrypoint)));
    }
    if !c.cmd.is_empty() {
        out.push(format!("CMD {}", json_array(&c.cmd)));
    }
    out
}

/// `["a", "b"]`, the exec form, with JSON escaping.
pub fn json_array(words: &[String]) -> String {
    let quoted: Vec<String> = words
        .iter()
        .map(|w| serde_json::to_string(w).unwrap_or_default())
        .collect();
    format!("[{}]", quoted.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(created_by: &str, empty: bool) -> HistoryEntry {
        HistoryEntry {
            created_by: created_by.into(),
            empty_layer: empty,
            ..Default::default()
        }
    }

    fn image(history: Vec<HistoryEntry>) -> Image {
        Image {
            reference: "app".into(),
            source: crate::image::SourceKind::DockerArchive,
            id: String::new(),
            config: Default::default(),
            history,
            layers: Vec::new(),
            warnings: Vec::new(),
        }
    }

    #[test]
    fn reconstruction_starts_after_the_base_images_cmd() {
        let img = image(vec![
            h("/bin/sh -c #(nop) ADD file:abc in / ", false),
            h("/bin/sh -c #(nop)  CMD [\"bash\"]", true),
            h(
                "/bin/sh -c apt-get update && apt-get install -y python3",
                false,
            ),
            h("/bin/sh -c #(nop)  CMD [\"python3\"]", true),
            h("/bin/sh -c #(nop)  ENV A=1", true),
            h("/bin/sh -c #(nop) WORKDIR /app", true),
            h(
                "/bin/sh -c #(nop) COPY file:123 in /app/requirements.txt ",
                false,
            ),
            h("|1 IDX=x /bin/sh -c pip install -r requirements.txt", false),
            h("/bin/sh -c #(nop) COPY dir:456 in /app/ ", false),
            h("/bin/sh -c #(nop)  CMD [\"python\" \"app.py\"]", true),
        ]);
        let steps = reconstruct(&img);
        let lines: Vec<&str> = steps.steps.iter().map(|s| s.text.as_str()).collect();
        assert_eq!(
            lines,
            vec![
                "ENV A=1",
                "WORKDIR /app",
                "COPY requirements.txt /app/requirements.txt",
                "RUN pip install -r requirements.txt",
                "COPY . /app/",
            ]
        );
        assert_eq!(
            steps.first_user_layer, 2,
            "rootfs and python3 are the base's"
        );
        assert!(steps.steps[4].comments[0].contains("check the source path"));
    }

    #[test]
    fn an_imported_base_ends_at_its_import() {
        let mut imported = h("", false);
        imported.comment = Some("Imported from -".into());
        let img = image(vec![
            imported,
            h("RUN /bin/sh -c pip install flask # buildkit", false),
            h("COPY . /app # buildkit", false),
        ]);
        let steps = reconstruct(&img);
        assert_eq!(steps.first_user_layer, 1);
        assert_eq!(steps.steps.len(), 2);
        assert_eq!(steps.steps[1].text, "COPY . /app");
    }

    #[test]
    fn dockerfile_steps_keep_earlier_stages_and_global_args() {
        let df = Dockerfile::parse(
            "# syntax=docker/dockerfile:1\nARG PY=3.12\nFROM python:${PY} AS deps\nRUN pip wheel -w /w flask\n\nFROM python:${PY}-slim AS app\nCOPY --from=deps /w /w\nRUN pip install /w/*\nCMD [\"flask\"]\n",
        );
        let steps = from_dockerfile(&df, &image(Vec::new()));
        assert_eq!(steps.directives, vec!["# syntax=docker/dockerfile:1"]);
        assert_eq!(steps.pre_from, vec!["ARG PY=3.12"]);
        assert_eq!(steps.base, "python:${PY}-slim");
        assert_eq!(steps.stage_names, vec!["deps", "app"]);
        assert_eq!(
            steps.earlier_stages,
            vec!["FROM python:${PY} AS deps", "RUN pip wheel -w /w flask"]
        );
        let kw: Vec<&str> = steps.steps.iter().map(|s| s.keyword.as_str()).collect();
        assert_eq!(kw, vec!["COPY", "RUN", "CMD"]);
        assert_eq!(steps.steps[0].flags, vec!["--from=deps"]);
    }
}
