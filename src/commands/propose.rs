//! `pyslim propose`: write a multi-stage Dockerfile for the image, print the size estimate
//! and the diff; with `--build`, build it through the engine and measure it.

use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

use pyslim::cli::ProposeArgs;
use pyslim::core::propose::{self, BaseFacts, Bases, Request};
use pyslim::{report, Error, Result};

use super::inputs::{load_config, open_examined, read_dockerfile_at};

pub(crate) fn run_propose(args: ProposeArgs) -> Result<ExitCode> {
    // Refuse before any work: pyslim never writes over a file unless told to.
    if args.output.exists() && !args.force {
        return Err(Error::Usage(format!(
            "{} exists; pyslim never writes over a file: pass --force, or choose another path with -o",
            args.output.display()
        )));
    }
    let dockerfile = read_dockerfile_at(args.dockerfile.as_deref())?;
    let cfg = load_config(args.config.as_deref())?;
    let bases_text = read_optional(args.bases.as_deref())?;
    let bases = Bases::load(bases_text.as_ref().map(|(n, t)| (n.as_str(), t.as_str())))?;
    let template = read_optional(args.template.as_deref())?;
    let (image, ex) = open_examined(
        &args.image,
        Some(&cfg.rules),
        pyslim::core::analysis::DEFAULT_TOP,
    )?;
    let req = Request {
        image: &image,
        ex: &ex,
        rules: &cfg.rules,
        dockerfile: dockerfile.as_ref().map(|(n, t)| (n.as_str(), t.as_str())),
        target: args.target.into(),
        bases: &bases,
        builder_base: args.builder_base.as_deref(),
        runtime_base: args.base.as_deref(),
        template: template.as_ref().map(|(n, t)| (n.as_str(), t.as_str())),
    };
    let base_name = propose::runtime_base(&req)?;
    let base = measure_base(&base_name);
    let proposal = propose::propose(&req, &base)?;
    write_output(&args.output, &proposal.dockerfile, args.force)?;

    let measured = if args.build {
        Some(super::propose_build::build_and_measure(
            &args, &proposal, &image,
        )?)
    } else {
        None
    };
    let mut stdout = std::io::stdout().lock();
    if args.json {
        let doc = serde_json::json!({
            "output": args.output.display().to_string(),
            "proposal": &proposal,
            "measured": &measured,
        });
        let _ = writeln!(
            stdout,
            "{}",
            serde_json::to_string_pretty(&doc).unwrap_or_default()
        );
    } else {
        let _ = write!(
            stdout,
            "{}",
            report::propose::render(&proposal, Some(&args.output))
        );
        if let Some(m) = &measured {
            let _ = writeln!(stdout);
            let _ = write!(
                stdout,
                "{}",
                report::propose::render_measured(m, proposal.estimate.total_bytes)
            );
        }
        let _ = writeln!(stdout);
        let _ = write!(stdout, "{}", proposal.diff);
    }
    let smoke_failed = measured
        .as_ref()
        .and_then(|m| m.smoke.as_ref())
        .is_some_and(|s| !s.passed);
    std::mem::forget((image, ex));
    Ok(if smoke_failed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

/// A file the user named, as (name, text), or None when they named none.
fn read_optional(path: Option<&Path>) -> Result<Option<(String, String)>> {
    path.map(|p| {
        std::fs::read_to_string(p)
            .map(|t| (p.display().to_string(), t))
            .map_err(|e| Error::io(p, e))
    })
    .transpose()
}

/// What the local daemon knows of the runtime base: nothing, quietly, when no daemon answers
/// or it lacks the image (the table's size and interpreter path are used then).
fn measure_base(reference: &str) -> BaseFacts {
    match pyslim::docker::Client::connect().and_then(|c| c.image(reference)) {
        Ok(Some(facts)) => BaseFacts {
            bytes: Some(facts.size),
            digest: facts.repo_digest,
            pythons: base_pythons(reference),
        },
        _ => BaseFacts::default(),
    }
}

/// The Python interpreters the base has, from its files (headers only: no contents are
/// read), so that the venv is made with the one the runtime will run.
fn base_pythons(reference: &str) -> Option<Vec<String>> {
    let opts = pyslim::source::OpenOptions {
        source: pyslim::source::SourceChoice::Docker,
        read: pyslim::source::ReadOptions {
            skip_contents: true,
            ..Default::default()
        },
        ..Default::default()
    };
    let image = pyslim::source::open(reference, &opts).ok()?;
    let tree = pyslim::core::tree::Tree::build(&image.layers);
    let paths: Vec<String> = tree
        .final_nodes()
        .filter(|&n| {
            tree.final_state(n).is_some_and(|e| {
                !matches!(e.kind, pyslim::core::entry::EntryKind::Dir) && e.mode & 0o111 != 0
                    || e.kind == pyslim::core::entry::EntryKind::Symlink
            })
        })
        .map(|n| tree.path(n))
        .collect();
    Some(propose::interpreter::pythons_among(
        paths.iter().map(String::as_str),
    ))
}

/// Writes the proposal; over an existing file only with `force`.
fn write_output(path: &Path, text: &str, force: bool) -> Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        if !dir.is_dir() {
            return Err(Error::Usage(format!(
                "{}: no such directory",
                dir.display()
            )));
        }
    }
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true);
    if force {
        opts.create(true).truncate(true);
    } else {
        // create_new: fails rather than replace a file that appeared meanwhile.
        opts.create_new(true);
    }
    let mut f = opts.open(path).map_err(|e| Error::io(path, e))?;
    f.write_all(text.as_bytes()).map_err(|e| Error::io(path, e))
}
