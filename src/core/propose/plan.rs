//! What the proposal does, decided from the image, its findings and the user's steps: which
//! steps build in the builder stage, what is pruned there, which OS packages the runtime
//! needs, what is copied across, and how the runtime stage is configured.

use std::collections::BTreeSet;

use serde::Serialize;

use super::bases::{fill, Bases, Target, TargetBases};
use super::shell;
use super::steps::{config_lines, Step, UserSteps};
use crate::core::findings::paths::glob_set;
use crate::core::findings::{Finding, RuleSet};
use crate::core::image::Image;
use crate::core::inventory::{normalize_dist_name, Inventory, PythonPackage};
use crate::core::tree::Tree;
use crate::core::Examination;

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
    pub notes: Vec<String>,
    pub pre_from: Vec<String>,
    pub earlier_stages: Vec<String>,
    pub builder_setup: Vec<Why>,
    pub builder_steps: Vec<RenderedStep>,
    pub prune: Vec<Prune>,
    pub runtime_env: Vec<EnvVar>,
    pub runtime_packages: Vec<String>,
    pub runtime_packages_why: String,
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
    let builder_base = input
        .builder_base
        .map(str::to_owned)
        .unwrap_or_else(|| fill(&tb.builder, &python_version));
    let mut runtime_base = input
        .runtime_base
        .map(str::to_owned)
        .unwrap_or_else(|| fill(&tb.runtime, &python_version));
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
    let why = |id: &str, what: &str| -> String {
        match finding(id) {
            Some(f) if f.bloat && f.bytes > 0 => {
                format!(
                    "{what} ({}: {})",
                    f.rule,
                    crate::report::text::size(f.bytes)
                )
            }
            Some(f) => format!("{what} ({})", f.rule),
            None => what.to_owned(),
        }
    };

    // The builder: the user's steps, with pip into the venv and without its cache.
    let mut builder_setup = Vec::new();
    let mut builder_steps = Vec::new();
    let build_only = build_only_packages(input.rules, input.bases);
    let mut runtime_candidates: Vec<String> = Vec::new();
    let mut first_install = true;
    for step in &input.steps.steps {
        match step.keyword.as_str() {
            "CMD" | "ENTRYPOINT" | "USER" | "EXPOSE" | "HEALTHCHECK" | "STOPSIGNAL" | "VOLUME"
            | "LABEL" | "ONBUILD" | "MAINTAINER" => continue,
            _ => {}
        }
        let mut rendered = RenderedStep {
            text: step.text.clone(),
            comments: step.comments.clone(),
        };
        if step.keyword == "RUN" {
            let packages = shell::installed_packages(&step.args);
            if !packages.is_empty() {
                runtime_candidates.extend(packages.iter().cloned());
                if input.target == Target::Alpine && !step.args.contains("apk ") {
                    builder_steps.push(alpine_install(&packages, input.bases, &build_only));
                    continue;
                }
                if first_install {
                    first_install = false;
                    rendered.comments.push(why(
                        "compilers",
                        "compilers, -dev packages and headers installed here stay in the builder stage",
                    ));
                }
            }
            let (text, changed) = shell::rewrite_pip(&rendered.text);
            if changed.contains(&"no-cache-dir") {
                rendered
                    .comments
                    .push(why("pip-cache", "pip install --no-cache-dir"));
            }
            if changed.contains(&"user") {
                rendered
                    .comments
                    .push("--user dropped: it would install outside the venv".into());
            }
            rendered.text = text;
        }
        builder_steps.push(rendered);
    }
    if input.target == Target::Distroless {
        builder_setup.push(Why {
            text: "RUN apt-get update \\\n    && apt-get install -y --no-install-recommends python3-venv \\\n    && rm -rf /var/lib/apt/lists/*".into(),
            why: "Debian's Python, the one the distroless runtime carries, and its venv module".into(),
        });
    }

    let mut prune = Vec::new();
    if !uninstalled.is_empty() {
        prune.push(Prune {
            shell: format!(
                "{venv}/bin/python -m pip uninstall -y {}",
                uninstalled.join(" ")
            ),
            why: why(
                "python-packaging-tools",
                "pip, setuptools and wheel are not needed to run the app",
            ),
        });
    }
    prune.push(Prune {
        shell: format!(
            "find {venv} -type d \\( -name tests -o -name test \\) -prune -exec rm -rf '{{}}' +"
        ),
        why: why(
            "python-package-tests",
            "test suites inside installed packages",
        ),
    });
    prune.push(Prune {
        shell: format!("find {venv} -name __pycache__ -prune -exec rm -rf '{{}}' +"),
        why: why(
            "python-bytecode",
            "bytecode pip compiled at install; the app runs without it",
        ),
    });

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

    let in_base = |name: &str| {
        os_package_layer(&ex.tree, name).is_some_and(|l| l < input.steps.first_user_layer)
    };
    let runtime_packages = runtime_packages(
        &runtime_candidates,
        &build_only,
        inv,
        input.bases,
        input.target,
        &in_base,
    );
    let runtime_packages_why = if runtime_packages.is_empty() {
        String::new()
    } else {
        "the runtime needs only these of the OS packages the build installed (libraries the -dev packages stood for included)".into()
    };

    let user = runtime_user(input.image, input.target, finding("runs-as-root"));
    let copies = copies(input, &venv);
    let mut runtime_lines = config_lines(input.image);
    runtime_lines.retain(|l| !l.starts_with("USER"));
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
        notes,
        pre_from: input.steps.pre_from.clone(),
        earlier_stages: input.steps.earlier_stages.clone(),
        builder_setup,
        builder_steps,
        prune,
        runtime_env,
        runtime_packages,
        runtime_packages_why,
        user,
        copies,
        runtime_lines,
        venv_dists,
        uninstalled,
        dockerignore,
        warnings,
    })
}

/// The Python the app runs on: its venv's, else the newest interpreter.
pub(crate) fn python_version(inv: &Inventory) -> Option<String> {
    let minor = |v: &str| -> String { v.split('.').take(2).collect::<Vec<_>>().join(".") };
    inv.venvs
        .iter()
        .map(|v| minor(&v.version))
        .find(|v| !v.is_empty())
        .or_else(|| {
            inv.interpreters
                .iter()
                .map(|i| minor(&i.version))
                .filter(|v| !v.is_empty())
                .max_by_key(|v| {
                    v.split('.')
                        .map(|p| p.parse::<u32>().unwrap_or(0))
                        .collect::<Vec<_>>()
                })
        })
}

/// The image's own venv, if the user made one: keep its path so their PATH and scripts hold.
fn image_venv(inv: &Inventory, tree: &Tree, first_user_layer: usize) -> Option<String> {
    inv.venvs
        .iter()
        .find(|v| {
            tree.lookup(&v.path)
                .and_then(|n| tree.node(n).events.first())
                .is_some_and(|e| e.layer as usize >= first_user_layer)
        })
        .map(|v| format!("/{}", v.path.trim_start_matches('/')))
}

/// Python distributions the user's steps installed (not the base's, not the OS's).
pub(crate) fn user_dists<'a>(
    inv: &'a Inventory,
    tree: &Tree,
    first_user_layer: usize,
) -> Vec<&'a PythonPackage> {
    inv.python_packages
        .iter()
        .filter(|p| p.installer != "debian" && !p.location.contains("dist-packages"))
        .filter(|p| {
            p.files_nodes.iter().any(|&n| {
                tree.node(n)
                    .events
                    .last()
                    .is_some_and(|e| e.layer as usize >= first_user_layer)
            })
        })
        .collect()
}

/// OS packages only a build needs: the compilers and dev-packages rules' globs, plus the
/// table's list of build tools.
fn build_only_packages(rules: &RuleSet, bases: &Bases) -> globset::GlobSet {
    let mut patterns: Vec<String> = rules
        .rules
        .iter()
        .filter(|r| r.id == "compilers" || r.id == "dev-packages")
        .flat_map(|r| r.packages.iter().cloned())
        .collect();
    patterns.extend(bases.build_only.iter().cloned());
    glob_set(patterns.iter())
}

/// The runtime's OS packages: what the build installed minus build-only packages, plus the
/// libraries each -dev package depends on (libpq-dev → libpq5).
fn runtime_packages(
    installed: &[String],
    build_only: &globset::GlobSet,
    inv: &Inventory,
    bases: &Bases,
    target: Target,
    in_base: &dyn Fn(&str) -> bool,
) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut push = |n: &str| {
        if !out.iter().any(|o| o == n) {
            out.push(n.to_owned());
        }
    };
    for name in installed {
        if !build_only.is_match(name.as_str()) {
            push(name);
            continue;
        }
        // A library's -dev package (libpq-dev) stands for the library (libpq5) that what was
        // built against it links at run time. Toolchains (build-essential, python3-dev) do not.
        if !is_library_dev(name) {
            continue;
        }
        let mut stack = vec![name.clone()];
        let mut seen = BTreeSet::new();
        while let Some(n) = stack.pop() {
            if !seen.insert(n.clone()) {
                continue;
            }
            let Some(pkg) = inv.os_packages.iter().find(|p| p.name == n) else {
                continue;
            };
            for d in &pkg.depends {
                if is_library_dev(d) {
                    stack.push(d.clone());
                } else if is_runtime_library(d) && !build_only.is_match(d.as_str()) && !in_base(d) {
                    push(d);
                }
            }
        }
    }
    if target == Target::Alpine {
        return out
            .into_iter()
            .map(|n| bases.apk_names.get(&n).cloned().unwrap_or(n))
            .collect();
    }
    out
}

/// `libpq-dev`, `libssl-dev`: the development files of one library.
fn is_library_dev(name: &str) -> bool {
    name.starts_with("lib") && name.ends_with("-dev") && !name.starts_with("libc6")
}

/// The layer that installed an OS package, by its dpkg file list (or None).
fn os_package_layer(tree: &Tree, name: &str) -> Option<usize> {
    [
        format!("var/lib/dpkg/info/{name}.list"),
        format!("var/lib/dpkg/info/{name}:amd64.list"),
        format!("var/lib/dpkg/info/{name}:arm64.list"),
    ]
    .iter()
    .filter_map(|p| tree.lookup(p))
    .filter_map(|n| tree.node(n).events.first())
    .map(|e| e.layer as usize)
    .min()
}

/// Libraries worth installing in a runtime: `lib*` packages other than the C and compiler
/// runtimes every base already has.
fn is_runtime_library(name: &str) -> bool {
    const EVERY_BASE_HAS: &[&str] = &["libc6", "libgcc-s1", "libstdc++6", "libcrypt1", "libc-bin"];
    name.starts_with("lib")
        && !name.starts_with("libpython")
        && !EVERY_BASE_HAS.contains(&name)
        && !name.starts_with("libgcc")
        && !name.starts_with("libc-dev")
}

/// The builder's `apk add` for what an apt-get step installed, by the table's names.
fn alpine_install(
    packages: &[String],
    bases: &Bases,
    build_only: &globset::GlobSet,
) -> RenderedStep {
    let mut names = vec!["build-base".to_owned()];
    let mut unknown = Vec::new();
    for p in packages {
        match bases.apk_names.get(p) {
            Some(a) if !names.contains(a) => names.push(a.clone()),
            Some(_) => {}
            None if build_only.is_match(p.as_str()) => {}
            None => unknown.push(p.clone()),
        }
    }
    let mut comments = vec![
        "apt-get has no Alpine counterpart: the same packages by their Alpine names".to_owned(),
    ];
    if !unknown.is_empty() {
        comments.push(format!(
            "no Alpine name known for: {} (add them)",
            unknown.join(", ")
        ));
    }
    RenderedStep {
        text: format!("RUN apk add --no-cache {}", names.join(" ")),
        comments,
    }
}

/// ENV the user's steps set, for the runtime (minus what the builder or pyslim handles).
fn user_env(steps: &[Step]) -> Vec<(String, String)> {
    const HANDLED: &[&str] = &[
        "PATH",
        "VIRTUAL_ENV",
        "DEBIAN_FRONTEND",
        "PYTHONDONTWRITEBYTECODE",
        "PYTHONUNBUFFERED",
    ];
    let mut out: Vec<(String, String)> = Vec::new();
    for s in steps.iter().filter(|s| s.keyword == "ENV") {
        for (k, a) in shell::env_assignments(&s.args) {
            if HANDLED.contains(&k.as_str()) || k.starts_with("PIP_") {
                continue;
            }
            out.retain(|(o, _)| *o != k);
            out.push((k, a));
        }
    }
    out
}

fn runtime_user(image: &Image, target: Target, root_finding: Option<&Finding>) -> User {
    let configured = image.config.user.trim();
    let name_part = configured.split(':').next().unwrap_or("");
    let is_root = name_part.is_empty() || name_part == "root" || name_part == "0";
    let why_root = match root_finding {
        Some(f) => format!("run as a non-root user ({})", f.rule),
        None => "run as a non-root user".into(),
    };
    if !is_root {
        let numeric = name_part.chars().all(|c| c.is_ascii_digit());
        return User {
            name: configured.to_owned(),
            uid: name_part.parse().unwrap_or(APP_UID),
            create: !numeric && target != Target::Distroless,
            why: format!("the image's user, {configured}, added to the new base"),
        };
    }
    if target == Target::Distroless {
        return User {
            name: "nonroot".into(),
            uid: 65532,
            create: false,
            why: why_root,
        };
    }
    User {
        name: APP_USER.into(),
        uid: APP_UID,
        create: true,
        why: why_root,
    }
}

/// What the runtime copies from the builder: the venv, the working directory, and what the
/// user's COPY/ADD steps put elsewhere, unless a later RUN consumed it (a build input) or it
/// is a secret.
fn copies(input: &PlanInput, venv: &str) -> Vec<CopyPath> {
    let tree = &input.ex.tree;
    let exists = |p: &str| {
        tree.lookup(p.trim_start_matches('/'))
            .is_some_and(|n| tree.is_visible(n))
    };
    let secrets: Vec<String> = input
        .ex
        .findings
        .findings
        .iter()
        .filter(|f| f.rule == "secrets")
        .flat_map(|f| {
            f.items
                .iter()
                .map(|i| format!("/{}", i.name.trim_start_matches('/')))
        })
        .collect();
    let under =
        |p: &str, dir: &str| p == dir || p.starts_with(&format!("{}/", dir.trim_end_matches('/')));
    let mut out = vec![CopyPath {
        path: venv.to_owned(),
        why: "the venv, built and pruned in the builder".into(),
    }];
    let workdir = input.image.config.workdir.trim_end_matches('/').to_owned();
    if !workdir.is_empty() && workdir != "/" && exists(&workdir) && !under(&workdir, venv) {
        out.push(CopyPath {
            path: workdir.clone(),
            why: "the app, as the builder left it".into(),
        });
    }
    let steps = &input.steps.steps;
    let mut cwd = "/".to_owned();
    for (i, s) in steps.iter().enumerate() {
        if s.keyword == "WORKDIR" {
            cwd = absolute(&cwd, s.args.trim());
            continue;
        }
        if s.keyword != "COPY" && s.keyword != "ADD" {
            continue;
        }
        let words = shell::words(&s.args);
        let Some(dest) = words.last() else { continue };
        let dest = absolute(&cwd, dest);
        let dest = dest.trim_end_matches('/').to_owned();
        if dest.is_empty()
            || out.iter().any(|c| under(&dest, &c.path))
            || secrets.iter().any(|sec| under(sec, &dest))
            || !exists(&dest)
        {
            continue;
        }
        let consumed = steps[i + 1..]
            .iter()
            .any(|later| later.keyword == "RUN" && later.args.contains(dest.as_str()));
        if consumed {
            continue;
        }
        out.push(CopyPath {
            path: dest,
            why: format!("copied in by `{}`", crate::text::one_line(&s.text)),
        });
    }
    out
}

fn absolute(cwd: &str, p: &str) -> String {
    if p.starts_with('/') {
        p.to_owned()
    } else {
        format!(
            "{}/{}",
            cwd.trim_end_matches('/'),
            p.trim_start_matches("./")
        )
    }
}
