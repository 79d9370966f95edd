//! The plan as Dockerfile text, through the templates in assets/proposals (minijinja).
//!
//! Variables: `image` (the name), and every field of `Plan`: `notes`, `pre_from`,
//! `earlier_stages`, `builder_name`, `builder_base`, `runtime_base`, `venv`, `builder_setup`
//! ({text, why}), `builder_steps` ({text, comments}), `prune` ({shell, why}), `runtime_env`
//! ({assignment, why}), `runtime_packages`, `runtime_packages_why`, `user` ({name, uid,
//! create, why}), `copies` ({path, why, holds_venv}), `runtime_lines`, `python_version`,
//! `family`, `directives`, `escape`. The user's parser directives are always written as
//! the first lines, whatever the template does with them.

use minijinja::Environment;

use super::bases::Target;
use super::plan::Plan;
use crate::{Error, Result};

const BASE: &str = include_str!("../../../../assets/proposals/base.Dockerfile");
const SLIM: &str = include_str!("../../../../assets/proposals/slim.Dockerfile");
const ALPINE: &str = include_str!("../../../../assets/proposals/alpine.Dockerfile");
const DISTROLESS: &str = include_str!("../../../../assets/proposals/distroless.Dockerfile");

/// Renders the plan with the target's template, or with `user` (name, text): a template of
/// its own that may `{% extends "base.Dockerfile" %}`.
pub fn render(plan: &Plan, image: &str, user: Option<(&str, &str)>) -> Result<String> {
    let mut env = Environment::new();
    env.set_trim_blocks(true);
    env.set_lstrip_blocks(true);
    env.set_keep_trailing_newline(true);
    let add = |env: &mut Environment<'_>, name: &'static str, text: &'static str| {
        env.add_template(name, text)
            .map_err(|e| Error::parse(format!("assets/proposals/{name}"), e))
    };
    add(&mut env, "base.Dockerfile", BASE)?;
    add(&mut env, "slim.Dockerfile", SLIM)?;
    add(&mut env, "alpine.Dockerfile", ALPINE)?;
    add(&mut env, "distroless.Dockerfile", DISTROLESS)?;
    let (name, label) = match user {
        Some((label, text)) => {
            env.add_template_owned("user.Dockerfile".to_owned(), text.to_owned())
                .map_err(|e| Error::parse(label, e))?;
            ("user.Dockerfile", label.to_owned())
        }
        None => {
            let name = match plan.context.target {
                Target::Slim => "slim.Dockerfile",
                Target::Alpine => "alpine.Dockerfile",
                Target::Distroless => "distroless.Dockerfile",
            };
            (name, format!("assets/proposals/{name}"))
        }
    };
    let template = env
        .get_template(name)
        .map_err(|e| Error::parse(&label, e))?;
    let mut ctx = serde_json::to_value(plan).map_err(|e| Error::parse(&label, e))?;
    if let Some(map) = ctx.as_object_mut() {
        map.insert("image".into(), image.into());
    }
    let text = template.render(ctx).map_err(|e| Error::parse(&label, e))?;
    // Templates leave runs of blank lines where optional parts are empty.
    let mut out = String::with_capacity(text.len());
    let mut blank = 0;
    let user_lines: std::collections::HashSet<&str> = plan
        .dockerfile
        .user_lines
        .iter()
        .map(|l| l.trim_end())
        .collect();
    for line in text.lines() {
        // A template may print the directives itself; they go first, once, below.
        if plan.dockerfile.directives.iter().any(|d| d == line) {
            continue;
        }
        blank = if line.trim().is_empty() { blank + 1 } else { 0 };
        if blank <= 1 {
            out.push_str(&with_escape(
                line.trim_end(),
                plan.dockerfile.escape,
                &user_lines,
            ));
            out.push('\n');
        }
    }
    // Parser directives count only as the file's first lines, before any comment.
    let mut head: String = plan
        .dockerfile
        .directives
        .iter()
        .map(|d| format!("{d}\n"))
        .collect();
    head.push_str(out.trim_start_matches('\n'));
    Ok(head)
}

/// pyslim's own line continuations written with the user's escape character (`` ` `` after
/// `# escape=```); the user's lines stay as they wrote them.
fn with_escape(line: &str, escape: char, user_lines: &std::collections::HashSet<&str>) -> String {
    match line.strip_suffix('\\') {
        Some(rest) if escape != '\\' && !user_lines.contains(line) => format!("{rest}{escape}"),
        _ => line.to_owned(),
    }
}
