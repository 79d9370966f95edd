//! The builder stage: the user's own steps, installing into the venv without pip's cache,
//! then pruned of what the runtime will not need.

use serde::Serialize;

use super::bases::Target;
use super::packages::{alpine_rewrite, build_only_packages};
use super::plan::{finding_why, PlanInput, Prune, RenderedStep, Why};
use super::{pip, reorder, shell};

/// The builder stage: the setup pyslim adds, the user's steps, and what is pruned after them.
#[derive(Debug, Clone, Serialize)]
pub struct BuilderStage {
    #[serde(rename = "builder_setup")]
    pub setup: Vec<Why>,
    #[serde(rename = "builder_steps")]
    pub steps: Vec<RenderedStep>,
    pub prune: Vec<Prune>,
    /// OS packages the user's steps install (apt-get, apk), in order.
    #[serde(skip)]
    pub installed_packages: Vec<String>,
    /// The requirements were moved before the source.
    #[serde(skip)]
    pub reordered: bool,
}

pub(crate) fn builder_stage(input: &PlanInput, venv: &str, uninstalled: &[String]) -> BuilderStage {
    let why = |id: &str, what: &str| finding_why(input.ex, id, what);
    // The builder: the user's steps, with pip into the venv and without its cache.
    let mut builder_setup = Vec::new();
    let mut builder_steps = Vec::new();
    let build_only = build_only_packages(input.rules, input.bases);
    let mut runtime_candidates: Vec<String> = Vec::new();
    let mut first_install = true;
    let (user_steps, reordered) = reorder::requirements_first(&input.steps.steps);
    for step in &user_steps {
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
                    let mut alpine =
                        alpine_rewrite(&step.flags, &step.args, input.bases, &build_only);
                    alpine.comments.splice(0..0, rendered.comments.drain(..));
                    rendered = alpine;
                } else if first_install {
                    first_install = false;
                    rendered.comments.push(why(
                        "compilers",
                        "compilers, -dev packages and headers installed here stay in the builder stage",
                    ));
                }
            }
            let (text, changed) = pip::rewrite_pip(&rendered.text, input.steps.escape);
            if changed.contains(&"no-cache-dir") {
                rendered
                    .comments
                    .push(why("pip-cache", "pip install --no-cache-dir"));
            }
            if changed.contains(&"system") {
                rendered
                    .comments
                    .push("--system dropped: uv installs into the venv instead".into());
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

    let prune = prune_steps(venv, uninstalled, &why);

    BuilderStage {
        setup: builder_setup,
        steps: builder_steps,
        prune,
        installed_packages: runtime_candidates,
        reordered,
    }
}

/// The builder's last RUN: uninstall the packaging tools, drop tests and bytecode. The
/// uninstall runs only when the venv has pip: `uv venv` makes none and `uv sync` removes it,
/// and the build must not fail on a tool that is already gone.
pub(crate) fn prune_steps(
    venv: &str,
    uninstalled: &[String],
    why: &dyn Fn(&str, &str) -> String,
) -> Vec<Prune> {
    let mut prune = Vec::new();
    if !uninstalled.is_empty() {
        prune.push(Prune {
            shell: format!(
                "if {venv}/bin/python -m pip --version >/dev/null 2>&1; then {venv}/bin/python -m pip uninstall -y {}; fi",
                uninstalled.join(" ")
            ),
            why: why(
                "python-packaging-tools",
                "pip, setuptools and wheel are not needed to run the app (when the venv has pip)",
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
    prune
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The prune RUN as the builder runs it, in `sh`, on a venv made by `uv venv` (no pip).
    #[test]
    fn the_prune_step_passes_on_a_venv_without_pip() {
        let dir = tempfile::tempdir().unwrap();
        let venv = dir.path().join(".venv");
        let sp = venv.join("lib/python3.12/site-packages/pkg");
        std::fs::create_dir_all(sp.join("tests")).unwrap();
        std::fs::create_dir_all(sp.join("__pycache__")).unwrap();
        std::fs::write(sp.join("__init__.py"), "").unwrap();
        std::fs::create_dir_all(venv.join("bin")).unwrap();
        // A python that has no pip module, as in a uv venv.
        let python = venv.join("bin/python");
        std::fs::write(
            &python,
            "#!/bin/sh\necho 'No module named pip' >&2\nexit 1\n",
        )
        .unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&python, std::fs::Permissions::from_mode(0o755)).unwrap();

        let tools = vec!["pip".to_owned(), "setuptools".to_owned()];
        let steps = prune_steps(venv.to_str().unwrap(), &tools, &|_, w| w.to_owned());
        let script = steps
            .iter()
            .map(|p| p.shell.as_str())
            .collect::<Vec<_>>()
            .join(" && ");
        let out = std::process::Command::new("sh")
            .arg("-c")
            .arg(&script)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{script}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(sp.join("__init__.py").exists());
        assert!(!sp.join("tests").exists() && !sp.join("__pycache__").exists());
    }
}
