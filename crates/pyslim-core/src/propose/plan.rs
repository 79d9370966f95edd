//! What the proposal does, decided from the image, its findings and the user's steps: which
//! steps build in the builder stage, what is pruned there, which OS packages the runtime
//! needs, what is copied across, and how the runtime stage is configured.

use std::collections::BTreeSet;

use serde::Serialize;

use super::bases::{fill, Bases, Target, TargetBases};
use super::builder;
use super::image_python::image_venv;
pub(crate) use super::image_python::{python_version, user_dists};
use super::interpreter::{self, VenvInterpreter};
use super::libraries::LibraryCopy;
use super::packages::build_only_packages;
use super::runtime::{copies, left_behind, runtime_config_lines, runtime_user, user_env};
use super::runtime_os::runtime_os;
use super::steps::UserSteps;
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

/// The proposal, decided; render.rs turns it into text, estimate.rs into bytes.
#[derive(Debug, Clone, Serialize)]
pub struct Plan {
    pub target: Target,
    pub family: String,
    pub python_version: String,
    pub builder_name: String,
    pub builder_base: String,
    pub runtime_base: String,
    pub venv: String,
    /// The interpreter the builder makes the venv with: the runtime's, at the same path.
    pub interpreter: VenvInterpreter,
    pub notes: Vec<String>,
    /// Parser directives of the user's Dockerfile: render.rs writes them first.
    pub directives: Vec<String>,
    /// The escape character those directives set (`\\` by default).
    pub escape: char,
    /// The user's own lines, kept as written (render.rs adapts only pyslim's to `escape`).
    #[serde(skip)]
    pub user_lines: Vec<String>,
    pub pre_from: Vec<String>,
    pub earlier_stages: Vec<String>,
    pub builder_setup: Vec<Why>,
    pub builder_steps: Vec<RenderedStep>,
    pub prune: Vec<Prune>,
    pub runtime_env: Vec<EnvVar>,
    pub runtime_packages: Vec<String>,
    pub runtime_packages_why: String,
    /// The runtime packages with the dependencies the build installed alongside them (what
    /// the runtime's package manager will add, or what is copied to distroless).
    pub runtime_closure: Vec<String>,
    /// Packages the build installed that the runtime base provides itself (its Python).
    pub base_provided: Vec<String>,
    /// Distroless: the runtime packages' shared libraries, copied from the builder.
    pub runtime_libraries: Vec<LibraryCopy>,
    /// What the proposal does about a finding on this target, where the target differs
    /// from the rule's own text (assets/bases.toml `actions`).
    #[serde(skip)]
    pub target_actions: std::collections::BTreeMap<String, String>,
    pub user: User,
    pub copies: Vec<CopyPath>,
    pub runtime_lines: Vec<String>,
    /// Python distributions the runtime venv gets (normalized names).
    pub venv_dists: Vec<String>,
    /// Packaging tools the builder uninstalls from the venv.
    pub uninstalled: Vec<String>,
    /// Suggested .dockerignore lines.
    pub dockerignore: Vec<String>,
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

pub fn plan(input: &PlanInput) -> crate::Result<Plan> {
    let ex = input.ex;
    let inv = &ex.inventory;
    let tb: &TargetBases = input.bases.target(input.target)?;
    let mut warnings = Vec::new();
    let mut notes = Vec::new();

    let python_version = python_version(inv).unwrap_or_else(|| {
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
    // `FROM base` where `base` is an earlier stage of theirs: the builder starts from that
    // stage, so the steps find what it installed; the runtime cannot (it is a new base).
    let parent_stage = input
        .steps
        .stage_names
        .iter()
        .find(|n| n.eq_ignore_ascii_case(&input.steps.base))
        .cloned();
    let builder_base = match (input.builder_base, &parent_stage) {
        (Some(b), _) => b.to_owned(),
        (None, Some(stage)) => stage.clone(),
        (None, None) => fill(&tb.builder, &python_version),
    };
    if let Some(stage) = &parent_stage {
        warnings.push(format!(
            "your final stage builds FROM your stage `{stage}`: the builder starts {}, but the runtime starts from a new base, so what `{stage}` added (OS packages, ENV, files outside the venv and the app) is not in it: add what the app needs at run time",
            if input.builder_base.is_none() { "from it" } else { "from --builder-base" }
        ));
    }
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
        &mut warnings,
    );
    match input.runtime_digest {
        Some(d) if !runtime_base.contains('@') => {
            runtime_base = format!("{runtime_base}@{d}");
            notes.push("The runtime base is pinned by the digest the local daemon has.".into());
        }
        Some(_) => {}
        None if !runtime_base.contains('@') => warnings.push(format!(
            "{runtime_base} is not pinned: its digest is not known here (pull it, then run propose again, or pin it by hand)"
        )),
        None => {}
    }
    if input.steps.reconstructed {
        notes.push("No Dockerfile was given: the builder steps are reconstructed from the image history and are approximate (check each COPY source).".into());
        warnings.push("no Dockerfile given: the build steps are reconstructed from the image history; check the COPY sources".into());
    }
    notes.push(format!(
        "Target: {} (Python {python_version}). Every \"pyslim:\" comment names the finding behind the change.",
        input.target.name()
    ));

    let builder_name = ["builder", "pyslim-builder", "pyslim-build"]
        .iter()
        .find(|n| {
            !input
                .steps
                .stage_names
                .iter()
                .any(|s| s.eq_ignore_ascii_case(n))
        })
        .unwrap_or(&"pyslim-builder")
        .to_string();

    let venv = image_venv(inv, &ex.tree, input.steps.first_user_layer)
        .unwrap_or_else(|| DEFAULT_VENV.to_owned());
    let user_dists = user_dists(inv, &ex.tree, input.steps.first_user_layer);
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

    let finding = |id: &str| ex.findings.findings.iter().find(|f| f.rule == id);
    let why = |id: &str, what: &str| finding_why(ex, id, what);
    let builder = builder::builder_stage(input, &venv, &uninstalled);
    if builder.reordered {
        notes.push("The requirements are copied and installed before the source, so code changes do not invalidate the install layer.".into());
    }
    let build_only = build_only_packages(input.rules, input.bases);

    // The runtime stage.
    let user_env = user_env(&input.steps.steps);
    let mut runtime_env = vec![
        EnvVar {
            assignment: format!("VIRTUAL_ENV={venv}"),
            why: "the venv copied from the builder comes first on PATH".into(),
        },
        EnvVar {
            assignment: format!("PATH=\"{venv}/bin:$PATH\""),
            why: String::new(),
        },
        EnvVar {
            assignment: "PYTHONDONTWRITEBYTECODE=1".into(),
            why: why(
                "env-dontwritebytecode",
                "no .pyc written at run time (the app's user cannot write there anyway)",
            ),
        },
        EnvVar {
            assignment: "PYTHONUNBUFFERED=1".into(),
            why: why("env-unbuffered", "logs reach `docker logs` at once"),
        },
    ];
    if !user_env.iter().any(|(k, _)| k == "LANG") {
        runtime_env.push(EnvVar {
            assignment: "LANG=C.UTF-8".into(),
            why: why("env-locale", "UTF-8 I/O with no locales package"),
        });
    }
    for (_, assignment) in &user_env {
        runtime_env.push(EnvVar {
            assignment: assignment.clone(),
            why: String::new(),
        });
    }

    let os = runtime_os(
        input,
        &builder.installed_packages,
        &build_only,
        &interpreter,
        &mut warnings,
    )?;

    let user = runtime_user(input.image, input.target, finding("runs-as-root"));
    let copies = copies(input, &venv);
    let behind = left_behind(input, &copies);
    let under =
        |p: &str, dir: &str| p == dir || p.starts_with(&format!("{}/", dir.trim_end_matches('/')));
    let mut not_carried: Vec<String> = behind
        .iter()
        .take(5)
        .map(|(p, b)| format!("{p} ({})", crate::format::size(*b)))
        .collect();
    // Heredoc files are small (under the size `left_behind` reports) but often config the
    // app reads.
    not_carried.extend(
        super::heredoc_files::heredoc_files(&input.steps.steps)
            .into_iter()
            .filter(|p| !copies.iter().any(|c| under(p, &c.path)))
            .filter(|p| !behind.iter().any(|(b, _)| under(p, b))),
    );
    if !not_carried.is_empty() {
        warnings.push(format!(
            "not carried to the runtime (your steps wrote them outside the venv and the app; copy what the app needs): {}",
            not_carried.join(", ")
        ));
    }
    let mut runtime_lines = runtime_config_lines(input, &mut warnings);
    for step in &input.steps.steps {
        if matches!(
            step.keyword.as_str(),
            "HEALTHCHECK" | "STOPSIGNAL" | "VOLUME" | "LABEL"
        ) {
            runtime_lines.insert(0, step.text.clone());
        }
    }

    if input.target == Target::Alpine {
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
    let dockerignore: Vec<String> = input
        .rules
        .rules
        .iter()
        .filter(|r| finding(&r.id).is_some())
        .flat_map(|r| r.dockerignore.iter().cloned())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();

    Ok(Plan {
        target: input.target,
        family: tb.family.clone(),
        python_version,
        builder_name,
        builder_base,
        runtime_base,
        venv,
        interpreter,
        notes,
        directives: input.steps.directives.clone(),
        escape: input.steps.escape,
        user_lines: input.steps.user_lines.clone(),
        pre_from: input.steps.pre_from.clone(),
        earlier_stages: input.steps.earlier_stages.clone(),
        builder_setup: builder.setup,
        builder_steps: builder.steps,
        prune: builder.prune,
        runtime_env,
        runtime_packages: os.packages,
        runtime_packages_why: os.why,
        runtime_closure: os.closure,
        base_provided: os.base_provided,
        runtime_libraries: os.libraries,
        target_actions: tb.actions.clone(),
        user,
        copies,
        runtime_lines,
        venv_dists,
        uninstalled,
        dockerignore,
        warnings,
    })
}
