//! The runtime stage's own decisions: which user it runs as, which of the user's ENV it
//! keeps, and what it copies from the builder.

use super::bases::Target;
use super::builder::BuilderStage;
use super::packages::build_only_packages;
use super::plan::{
    finding_why, CopyPath, EnvVar, PlanInput, RuntimeStage, Stages, User, APP_UID, APP_USER,
};
use super::reorder::absolute;
use super::runtime_os::runtime_os;
use super::shell;
use super::steps::{config_lines, Step};
use crate::findings::Finding;
use crate::image::Image;

/// The runtime stage: its environment, the OS packages it needs, its user, what it copies
/// from the builder (and a warning for what it does not), and the image's configuration.
pub(crate) fn runtime_stage(
    input: &PlanInput,
    stages: &Stages,
    builder: &BuilderStage,
    warnings: &mut Vec<String>,
) -> crate::Result<RuntimeStage> {
    let env = runtime_env(input, &stages.venv);
    let build_only = build_only_packages(input.rules, input.bases);
    let os = runtime_os(
        input,
        &builder.installed_packages,
        &build_only,
        &stages.interpreter,
        warnings,
    )?;
    let runs_as_root = input
        .ex
        .findings
        .findings
        .iter()
        .find(|f| f.rule == "runs-as-root");
    let user = runtime_user(input.image, input.target, runs_as_root);
    let copies = copies(input, &stages.venv);
    if let Some(warning) = not_carried(input, &copies) {
        warnings.push(warning);
    }
    let mut lines = runtime_config_lines(input, warnings);
    for step in &input.steps.steps {
        if matches!(
            step.keyword.as_str(),
            "HEALTHCHECK" | "STOPSIGNAL" | "VOLUME" | "LABEL"
        ) {
            lines.insert(0, step.text.clone());
        }
    }
    Ok(RuntimeStage {
        env,
        os,
        user,
        copies,
        lines,
    })
}

/// The venv first on PATH, Python's run-time switches, and the user's own ENV.
fn runtime_env(input: &PlanInput, venv: &str) -> Vec<EnvVar> {
    let why = |id: &str, what: &str| finding_why(input.ex, id, what);
    let user_env = user_env(&input.steps.steps);
    let mut env = vec![
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
        env.push(EnvVar {
            assignment: "LANG=C.UTF-8".into(),
            why: why("env-locale", "UTF-8 I/O with no locales package"),
        });
    }
    for (_, assignment) in &user_env {
        env.push(EnvVar {
            assignment: assignment.clone(),
            why: String::new(),
        });
    }
    env
}

/// The warning for what the user's steps wrote outside the venv and the app: the biggest
/// files left behind, and every file a heredoc writes (small, but often config the app
/// reads).
fn not_carried(input: &PlanInput, copies: &[CopyPath]) -> Option<String> {
    let behind = left_behind(input, copies);
    let under =
        |p: &str, dir: &str| p == dir || p.starts_with(&format!("{}/", dir.trim_end_matches('/')));
    let mut not_carried: Vec<String> = behind
        .iter()
        .take(5)
        .map(|(p, b)| format!("{p} ({})", crate::format::size(*b)))
        .collect();
    not_carried.extend(
        super::heredoc_files::heredoc_files(&input.steps.steps)
            .into_iter()
            .filter(|p| !copies.iter().any(|c| under(p, &c.path)))
            .filter(|p| !behind.iter().any(|(b, _)| under(p, b))),
    );
    (!not_carried.is_empty()).then(|| format!(
        "not carried to the runtime (your steps wrote them outside the venv and the app; copy what the app needs): {}",
        not_carried.join(", ")
    ))
}

/// ENV the user's steps set, for the runtime (minus what the builder or pyslim handles).
pub(crate) fn user_env(steps: &[Step]) -> Vec<(String, String)> {
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

pub(crate) fn runtime_user(image: &Image, target: Target, root_finding: Option<&Finding>) -> User {
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

/// WORKDIR, EXPOSE, ENTRYPOINT and CMD as the image had them (its USER is decided apart), with
/// the base's ENTRYPOINT reset when the image had none of its own.
pub(crate) fn runtime_config_lines(input: &PlanInput, warnings: &mut Vec<String>) -> Vec<String> {
    let mut lines = config_lines(input.image);
    lines.retain(|l| !l.starts_with("USER"));
    // The runtime base's ENTRYPOINT (distroless: its python3.X) would run before the image's
    // CMD: reset it, so the new image runs what the old one ran.
    if !lines.iter().any(|l| l.starts_with("ENTRYPOINT")) {
        let at = lines
            .iter()
            .position(|l| l.starts_with("CMD"))
            .unwrap_or(lines.len());
        lines.insert(at, "ENTRYPOINT []".into());
    }
    if input.target == Target::Distroless {
        if let Some(program) = shell_program(input.image) {
            warnings.push(format!(
                "the image starts with {program}, which needs a shell; distroless has none, so this container will not start: make the ENTRYPOINT/CMD an exec form that runs python (or choose --target slim)"
            ));
        }
    }
    lines
}

/// The program the image starts with, when it needs a shell: `/bin/sh -c` (the shell form
/// of CMD), a shell, or a `.sh` script.
fn shell_program(image: &Image) -> Option<String> {
    let c = &image.config;
    let first = c.entrypoint.first().or(c.cmd.first())?;
    let name = first.rsplit('/').next().unwrap_or(first);
    (matches!(name, "sh" | "bash" | "dash" | "ash") || name.ends_with(".sh"))
        .then(|| format!("`{first}`"))
}

/// What the runtime copies from the builder: the venv, the working directory, and what the
/// user's COPY/ADD steps put elsewhere, unless a later RUN consumed it (a build input) or it
/// is a secret.
pub(crate) fn copies(input: &PlanInput, venv: &str) -> Vec<CopyPath> {
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
        holds_venv: false,
    }];
    let workdir = input.image.config.workdir.trim_end_matches('/').to_owned();
    if !workdir.is_empty() && workdir != "/" && exists(&workdir) && !under(&workdir, venv) {
        out.push(CopyPath {
            path: workdir.clone(),
            why: "the app, as the builder left it".into(),
            holds_venv: false,
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
            why: format!("copied in by `{}`", crate::format::one_line(&s.text)),
            holds_venv: false,
        });
    }
    // A venv inside a copied folder (uv's /app/.venv) ships with that folder, pruned in the
    // builder like any venv: copying it on its own too would ship it twice.
    if let Some(k) = (1..out.len()).find(|&k| under(venv, &out[k].path)) {
        out[k].holds_venv = true;
        out[k].why = format!(
            "{}, with the venv inside it (pruned in the builder)",
            out[k].why
        );
        out.remove(0);
    }
    out
}

/// Places where a build leaves what no runtime needs: caches, package databases, logs.
const BUILD_LEFTOVERS: &[&str] = &[
    "root/.cache",
    "root/.cargo",
    "root/.npm",
    "tmp",
    "var/tmp",
    "var/cache",
    "var/log",
    "var/lib/apt",
    "var/lib/dpkg",
    "usr/share/doc",
    "usr/share/man",
];

/// Least bytes a directory must hold before it is worth a warning.
pub const LEFT_BEHIND_MIN_BYTES: u64 = 1024 * 1024;

/// Files the user's steps put in the image that the runtime will not have: not in what it
/// copies, not owned by an OS package (the runtime installs or has those), not build
/// leftovers. Summed by their first two path components, largest first.
pub(crate) fn left_behind(input: &PlanInput, copies: &[CopyPath]) -> Vec<(String, u64)> {
    let tree = &input.ex.tree;
    let owned = &input.ex.inventory.owner;
    let first = input.steps.first_user_layer as u32;
    let copied: Vec<String> = copies
        .iter()
        .map(|c| c.path.trim_start_matches('/').to_owned())
        .collect();
    let mut by_dir: std::collections::BTreeMap<String, u64> = Default::default();
    for id in tree.final_nodes() {
        let Some(state) = tree.final_state(id) else {
            continue;
        };
        if state.kind != crate::entry::EntryKind::File || state.layer < first {
            continue;
        }
        if owned.contains_key(&id) {
            continue;
        }
        let path = tree.path(id);
        let under = |dir: &str| path == dir || path.starts_with(&format!("{dir}/"));
        if copied.iter().any(|c| under(c)) || BUILD_LEFTOVERS.iter().any(|d| under(d)) {
            continue;
        }
        let key: String = path.split('/').take(2).collect::<Vec<_>>().join("/");
        *by_dir.entry(format!("/{key}")).or_default() += state.size;
    }
    let mut out: Vec<(String, u64)> = by_dir
        .into_iter()
        .filter(|(_, b)| *b >= LEFT_BEHIND_MIN_BYTES)
        .collect();
    out.sort_by_key(|o| std::cmp::Reverse(o.1));
    out
}
