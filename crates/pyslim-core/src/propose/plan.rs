//! What the proposal does, decided from the image, its findings and the user's steps: which
//! steps build in the builder stage, what is pruned there, which OS packages the runtime
//! needs, what is copied across, and how the runtime stage is configured.

use std::collections::BTreeSet;

use serde::Serialize;

use super::bases::{Bases, Target, TargetBases};
pub use super::builder::BuilderStage;
pub(crate) use super::image_python::{python_version, user_dists};
use super::interpreter::VenvInterpreter;
pub use super::runtime_os::RuntimeOs;
use super::steps::UserSteps;
use super::{builder, runtime, stages};
use crate::findings::RuleSet;
use crate::image::Image;
use crate::inventory::normalize_dist_name;
use crate::Examination;

/// Where the proposal puts the venv when the image has none of its own.
pub const DEFAULT_VENV: &str = "/opt/venv";
/// The Python assumed when the image shows none.
pub const FALLBACK_PYTHON: &str = "3.12";
/// The user the runtime stage adds, and its uid (above any distribution's system range).
pub const APP_USER: &str = "app";
pub const APP_UID: u32 = 10001;
/// Installers and build backends the runtime venv does without.
pub const PACKAGING_TOOLS: &[&str] = &["pip", "setuptools", "wheel"];

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Why {
    pub text: String,
    pub why: String,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Prune {
    pub shell: String,
    pub why: String,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct EnvVar {
    pub assignment: String,
    pub why: String,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct User {
    pub name: String,
    pub uid: u32,
    /// The runtime stage must add it (false for numeric users and distroless's nonroot).
    pub create: bool,
    pub why: String,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct CopyPath {
    /// Absolute path, copied from the builder to the same place.
    pub path: String,
    pub why: String,
    /// The venv lies inside this path (uv's `/app/.venv`), so it ships with this copy.
    #[serde(default)]
    pub holds_venv: bool,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct RenderedStep {
    pub text: String,
    pub comments: Vec<String>,
}

/// The proposal, decided; render.rs turns it into text, estimate.rs into bytes. Its parts
/// serialise flat, in this order: the JSON of `propose --json` and the templates' variables
/// (render.rs) name every field at the top level.
#[derive(Debug, Clone, Serialize)]
pub struct Plan {
    #[serde(flatten)]
    pub context: Context,
    #[serde(flatten)]
    pub stages: Stages,
    pub notes: Vec<String>,
    #[serde(flatten)]
    pub dockerfile: UserDockerfile,
    #[serde(flatten)]
    pub builder: BuilderStage,
    #[serde(flatten)]
    pub runtime: RuntimeStage,
    #[serde(flatten)]
    pub venv_contents: VenvContents,
    /// Suggested .dockerignore lines.
    pub dockerignore: Vec<String>,
    pub warnings: Vec<String>,
}

/// What the proposal is for: the target and the image's Python.
#[derive(Debug, Clone, Serialize)]
pub struct Context {
    pub target: Target,
    pub family: String,
    pub python_version: String,
    /// What the proposal does about a finding on this target, where the target differs
    /// from the rule's own text (assets/bases.toml `actions`).
    #[serde(skip)]
    pub target_actions: std::collections::BTreeMap<String, String>,
}

/// The two stages' names and bases, the venv they share and the interpreter that makes it.
#[derive(Debug, Clone, Serialize)]
pub struct Stages {
    pub builder_name: String,
    pub builder_base: String,
    pub runtime_base: String,
    pub venv: String,
    /// The interpreter the builder makes the venv with: the runtime's, at the same path.
    pub interpreter: VenvInterpreter,
}

/// What the proposal keeps of the user's Dockerfile as they wrote it.
#[derive(Debug, Clone, Serialize)]
pub struct UserDockerfile {
    /// Parser directives of the user's Dockerfile: render.rs writes them first.
    pub directives: Vec<String>,
    /// The escape character those directives set (`\\` by default).
    pub escape: char,
    /// The user's own lines, kept as written (render.rs adapts only pyslim's to `escape`).
    #[serde(skip)]
    pub user_lines: Vec<String>,
    pub pre_from: Vec<String>,
    pub earlier_stages: Vec<String>,
}

/// The runtime stage: its environment, OS packages, user, what it copies from the builder
/// and the rest of its configuration.
#[derive(Debug, Clone, Serialize)]
pub struct RuntimeStage {
    #[serde(rename = "runtime_env")]
    pub env: Vec<EnvVar>,
    #[serde(flatten)]
    pub os: RuntimeOs,
    pub user: User,
    pub copies: Vec<CopyPath>,
    #[serde(rename = "runtime_lines")]
    pub lines: Vec<String>,
}

/// The Python distributions of the runtime venv.
#[derive(Debug, Clone, Serialize)]
pub struct VenvContents {
    /// Python distributions the runtime venv gets (normalized names).
    pub venv_dists: Vec<String>,
    /// Packaging tools the builder uninstalls from the venv.
    pub uninstalled: Vec<String>,
}

/// What a plan tells the user besides the Dockerfile, in the order it was decided.
#[derive(Debug, Default)]
pub(crate) struct Said {
    pub notes: Vec<String>,
    pub warnings: Vec<String>,
}

/// Everything a plan is decided from.
pub struct PlanInput<'a> {
    pub image: &'a Image,
    pub ex: &'a Examination,
    pub rules: &'a RuleSet,
    pub steps: &'a UserSteps,
    pub target: Target,
    pub bases: &'a Bases,
    /// `--builder-base` and `--base`, when given.
    pub builder_base: Option<&'a str>,
    pub runtime_base: Option<&'a str>,
    /// The runtime base's digest, when the daemon knows it (`sha256:…`).
    pub runtime_digest: Option<&'a str>,
    /// The Pythons (`/usr/bin/python3.11`) the runtime base has, when its files were read.
    pub runtime_pythons: Option<&'a [String]>,
}

/// `what`, followed by the finding behind it and its bytes, when the image has that finding.
pub(crate) fn finding_why(ex: &Examination, id: &str, what: &str) -> String {
    match ex.findings.findings.iter().find(|f| f.rule == id) {
        Some(f) if f.bloat && f.bytes > 0 => {
            format!("{what} ({}: {})", f.rule, crate::format::size(f.bytes))
        }
        Some(f) => format!("{what} ({})", f.rule),
        None => what.to_owned(),
    }
}

/// Decides the proposal, part by part in the order each needs the last: the stages' bases
/// and Python, the venv's contents, the builder, the runtime.
pub fn plan(input: &PlanInput) -> crate::Result<Plan> {
    let tb: &TargetBases = input.bases.target(input.target)?;
    let mut said = Said::default();
    let (context, stages) = stages::decide(input, tb, &mut said);
    let venv_contents = venv_contents(input, &mut said.warnings);
    let builder = builder::builder_stage(input, &stages.venv, &venv_contents.uninstalled);
    if builder.reordered {
        said.notes.push("The requirements are copied and installed before the source, so code changes do not invalidate the install layer.".into());
    }
    let runtime = runtime::runtime_stage(input, &stages, &builder, &mut said.warnings)?;
    if input.target == Target::Alpine {
        alpine_warnings(input, &mut said.warnings);
    }
    Ok(Plan {
        context,
        stages,
        notes: said.notes,
        dockerfile: UserDockerfile {
            directives: input.steps.directives.clone(),
            escape: input.steps.escape,
            user_lines: input.steps.user_lines.clone(),
            pre_from: input.steps.pre_from.clone(),
            earlier_stages: input.steps.earlier_stages.clone(),
        },
        builder,
        runtime,
        venv_contents,
        dockerignore: dockerignore(input),
        warnings: said.warnings,
    })
}

/// What the runtime venv holds: the user's distributions, without the packaging tools no
/// package requires (those the builder uninstalls).
fn venv_contents(input: &PlanInput, warnings: &mut Vec<String>) -> VenvContents {
    let user_dists = user_dists(
        &input.ex.inventory,
        &input.ex.tree,
        input.steps.first_user_layer,
    );
    let uninstalled: Vec<String> = PACKAGING_TOOLS
        .iter()
        .filter(|t| {
            !user_dists
                .iter()
                .any(|p| normalize_dist_name(&p.name) != **t && p.requires.iter().any(|r| r == *t))
        })
        .map(|t| t.to_string())
        .collect();
    let venv_dists: Vec<String> = user_dists
        .iter()
        .map(|p| normalize_dist_name(&p.name))
        .filter(|n| !uninstalled.contains(n))
        .collect();
    let kept_tools: Vec<&str> = PACKAGING_TOOLS
        .iter()
        .copied()
        .filter(|t| !uninstalled.iter().any(|u| u == t))
        .collect();
    if !kept_tools.is_empty() {
        warnings.push(format!(
            "kept in the venv because a package requires it: {}",
            kept_tools.join(", ")
        ));
    }
    VenvContents {
        venv_dists,
        uninstalled,
    }
}

/// Alpine's caveats: manylinux wheels, and what pyslim cannot check for musl.
fn alpine_warnings(input: &PlanInput, warnings: &mut Vec<String>) {
    let user_dists = user_dists(
        &input.ex.inventory,
        &input.ex.tree,
        input.steps.first_user_layer,
    );
    let glibc: Vec<&str> = user_dists
        .iter()
        .filter(|p| p.is_manylinux())
        .map(|p| p.name.as_str())
        .collect();
    if !glibc.is_empty() {
        warnings.push(format!(
            "musl: {} of the image's Python packages are manylinux (glibc) wheels ({}); on Alpine pip needs musllinux wheels or builds from source, which can be slow, larger, or fail",
            glibc.len(),
            glibc.iter().take(6).copied().collect::<Vec<_>>().join(", ")
        ));
    }
    warnings.push("not checked for Alpine: that the packages install on musl, that the OS packages' Alpine names (mapped from a table) are the right ones, and the size (estimated from the glibc image's files); build it and run your tests before you rely on it".into());
}

/// The .dockerignore lines of the rules whose findings the image has.
fn dockerignore(input: &PlanInput) -> Vec<String> {
    let found = |id: &str| input.ex.findings.findings.iter().any(|f| f.rule == id);
    input
        .rules
        .rules
        .iter()
        .filter(|r| found(&r.id))
        .flat_map(|r| r.dockerignore.iter().cloned())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect()
}
