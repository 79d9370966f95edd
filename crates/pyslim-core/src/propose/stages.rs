//! The plan's context and stages: the image's Python, the builder's and the runtime's bases
//! (the user's choice, their earlier stage, or the target's), the digest that pins the
//! runtime, the interpreter that makes the venv, and the builder stage's name.

use super::bases::{fill, TargetBases};
use super::image_python::{image_venv, python_version};
use super::interpreter;
use super::plan::{Context, PlanInput, Said, Stages, DEFAULT_VENV, FALLBACK_PYTHON};

pub(crate) fn decide(input: &PlanInput, tb: &TargetBases, said: &mut Said) -> (Context, Stages) {
    let warnings = &mut said.warnings;
    let python_version = python_version(&input.ex.inventory).unwrap_or_else(|| {
        warnings.push(format!(
            "no Python interpreter found in the image; assuming {FALLBACK_PYTHON}"
        ));
        FALLBACK_PYTHON.into()
    });
    if let Some(fixed) = &tb.python {
        if *fixed != python_version && input.runtime_base.is_none() {
            warnings.push(format!(
                "the {} base has Python {fixed}; the image uses {python_version}: check that every package supports {fixed}",
                input.target.name()
            ));
        }
    }
    let builder_base = builder_base(input, tb, &python_version, warnings);
    if input.steps.unmatched {
        warnings.push("no layer of the image matches a step of the Dockerfile (is it the one this image was built from?): where your steps start is guessed from the history, so the estimate may be far off".into());
    }
    let mut runtime_base = input
        .runtime_base
        .map(str::to_owned)
        .unwrap_or_else(|| fill(&tb.runtime, &python_version));
    let interpreter = interpreter::choose(
        tb,
        &python_version,
        &runtime_base,
        input.runtime_base.is_some(),
        input.runtime_pythons,
        warnings,
    );
    match input.runtime_digest {
        Some(d) if !runtime_base.contains('@') => {
            runtime_base = format!("{runtime_base}@{d}");
            said.notes
                .push("The runtime base is pinned by the digest the local daemon has.".into());
        }
        Some(_) => {}
        None if !runtime_base.contains('@') => said.warnings.push(format!(
            "{runtime_base} is not pinned: its digest is not known here (pull it, then run propose again, or pin it by hand)"
        )),
        None => {}
    }
    if input.steps.reconstructed {
        said.notes.push("No Dockerfile was given: the builder steps are reconstructed from the image history and are approximate (check each COPY source).".into());
        said.warnings.push("no Dockerfile given: the build steps are reconstructed from the image history; check the COPY sources".into());
    }
    said.notes.push(format!(
        "Target: {} (Python {python_version}). Every \"pyslim:\" comment names the finding behind the change.",
        input.target.name()
    ));
    let ex = input.ex;
    let venv = image_venv(&ex.inventory, &ex.tree, input.steps.first_user_layer)
        .unwrap_or_else(|| DEFAULT_VENV.to_owned());
    let context = Context {
        target: input.target,
        family: tb.family.clone(),
        python_version,
        target_actions: tb.actions.clone(),
    };
    let stages = Stages {
        builder_name: builder_name(input),
        builder_base,
        runtime_base,
        venv,
        interpreter,
    };
    (context, stages)
}

/// `--builder-base`, else the user's own stage their final stage builds FROM (the builder
/// starts from it, so the steps find what it installed; the runtime cannot: it is a new
/// base), else the target's builder.
fn builder_base(
    input: &PlanInput,
    tb: &TargetBases,
    python_version: &str,
    warnings: &mut Vec<String>,
) -> String {
    let parent_stage = input
        .steps
        .stage_names
        .iter()
        .find(|n| n.eq_ignore_ascii_case(&input.steps.base))
        .cloned();
    let builder_base = match (input.builder_base, &parent_stage) {
        (Some(b), _) => b.to_owned(),
        (None, Some(stage)) => stage.clone(),
        (None, None) => fill(&tb.builder, python_version),
    };
    if let Some(stage) = &parent_stage {
        warnings.push(format!(
            "your final stage builds FROM your stage `{stage}`: the builder starts {}, but the runtime starts from a new base, so what `{stage}` added (OS packages, ENV, files outside the venv and the app) is not in it: add what the app needs at run time",
            if input.builder_base.is_none() { "from it" } else { "from --builder-base" }
        ));
    }
    builder_base
}

/// The builder stage's name: the first of these the user's stages do not use.
fn builder_name(input: &PlanInput) -> String {
    ["builder", "pyslim-builder", "pyslim-build"]
        .iter()
        .find(|n| {
            !input
                .steps
                .stage_names
                .iter()
                .any(|s| s.eq_ignore_ascii_case(n))
        })
        .unwrap_or(&"pyslim-builder")
        .to_string()
}
