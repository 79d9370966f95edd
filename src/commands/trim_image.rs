//! `pyslim trim IMAGE --decisions FILE`: the session decided from a file, its report, patch
//! and decisions, and the trimmed image itself (PREFIX.tar), optionally loaded into the
//! daemon (`--load TAG`) and smoke-tested (`--smoke [CMD]`).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use pyslim::cli::{TrimArgs, TrimFormat};
use pyslim::core::examine;
use pyslim::core::trim_image::smoke;
use pyslim::docker::{self, Client};
use pyslim::source::writer::trimmed::{checked_plan, write_trimmed, TrimmedOptions};
use pyslim::source::writer::ArchiveFormat;
use pyslim::source::SourceChoice;
use pyslim::{report, Error, Result};

use super::common::{load_config, open_image, read_dockerfile};

/// `-o out` and `-o out.tar` both mean the prefix `out`.
fn prefix_of(output: &str) -> String {
    output.strip_suffix(".tar").unwrap_or(output).to_owned()
}

/// The daemon name the image argument means, when it means one (as `source::open` decides).
fn daemon_name(args: &TrimArgs) -> Option<String> {
    let image = &args.image;
    let reference = image.image.as_deref().filter(|_| !image.demo)?;
    for prefix in ["docker://", "docker-daemon:"] {
        if let Some(rest) = reference.strip_prefix(prefix) {
            return Some(rest.to_owned());
        }
    }
    let other_transport = ["docker-archive:", "oci-archive:", "oci:"]
        .iter()
        .any(|p| reference.starts_with(p));
    match image.source {
        SourceChoice::Docker => Some(reference.to_owned()),
        SourceChoice::Auto if !other_transport && !Path::new(reference).exists() => {
            Some(reference.to_owned())
        }
        _ => None,
    }
}

/// Removes a temporary file when dropped, whatever happened.
struct TempFile(PathBuf);
impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

pub(crate) fn run_decisions(args: &TrimArgs, decisions: &Path) -> Result<ExitCode> {
    let input = decisions.display().to_string();
    let text = std::fs::read_to_string(decisions).map_err(|e| Error::io(decisions, e))?;
    let file = pyslim::core::trim::DecisionsFile::parse(&input, &text)?;
    let cfg = load_config(args.config.as_deref())?;
    let dockerfile = read_dockerfile(&args.out)?;
    let opts = &args.image_out;
    let prefix = prefix_of(&args.out.output);
    let archive = PathBuf::from(format!("{prefix}.tar"));
    let want_image = !opts.no_image;
    // Everything that would refuse is checked before anything is read or written.
    let reports = report::trim::paths(Path::new(&prefix), dockerfile.is_some());
    if let Some(existing) = reports.iter().find(|p| p.exists()) {
        return Err(Error::Usage(format!(
            "{} exists; pyslim never writes over a file: choose another prefix with -o",
            existing.display()
        )));
    }
    if want_image && archive.exists() && !opts.force {
        return Err(Error::Usage(format!(
            "{} exists; pyslim never writes over a file unless --force: choose another prefix with -o",
            archive.display()
        )));
    }
    let client = if want_image && (opts.load.is_some() || opts.smoke.is_some()) {
        Some(Client::connect()?)
    } else {
        None
    };
    if let (Some(client), Some(tag)) = (&client, &opts.load) {
        if !opts.force && client.image(tag)?.is_some() {
            return Err(Error::Usage(format!(
                "{tag} already names an image in the Docker daemon; pyslim never retags an image unless --force"
            )));
        }
    }
    let daemon = daemon_name(args).filter(|_| want_image);
    let (image, source, _saved) = match &daemon {
        Some(name) => {
            // The daemon streams its export once: saved beside the output to be read twice.
            let client = match &client {
                Some(c) => c,
                None => &Client::connect()?,
            };
            let name_part = Path::new(&prefix)
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            let saved = archive.with_file_name(format!(".{name_part}.source.partial"));
            let guard = TempFile(saved.clone());
            client.save(name, &saved)?;
            let mut image_args = args.image.clone();
            image_args.image = Some(saved.display().to_string());
            image_args.source = SourceChoice::DockerArchive;
            let mut image = open_image(&image_args, false, false)?;
            image.reference = name.clone();
            (image, Some(saved), Some(guard))
        }
        None => {
            let image = open_image(&args.image, false, true)?;
            let source = match image.source {
                pyslim::core::image::SourceKind::Demo => None,
                _ => Some(PathBuf::from(&image.reference)),
            };
            (image, source, None)
        }
    };
    let ex = examine(
        &image,
        Some(&cfg.rules),
        pyslim::core::analysis::DEFAULT_TOP,
    );
    let mut session = pyslim::core::trim::Session::new(&ex);
    session.apply_file(&input, &file)?;
    let plan = if want_image {
        Some(checked_plan(&image, &ex, &session, &cfg.rules)?)
    } else {
        None
    };
    let df = dockerfile.as_ref().map(|(n, t)| (n.as_str(), t.as_str()));
    let outputs = report::trim::build(&image, &ex, &cfg.rules, &session, df);
    let written = report::trim::write(Path::new(&prefix), &outputs)?;
    let p = session.projection(&ex);
    let mut stdout = std::io::stdout().lock();
    let _ = writeln!(
        stdout,
        "{}: ships {} now, {} with the accepted fixes ({} less)",
        image.reference,
        report::text::size(p.before),
        report::text::size(p.after),
        report::text::size(p.saved())
    );
    for w in written {
        let _ = writeln!(stdout, "wrote {}", w.display());
    }
    let Some(plan) = plan else {
        return Ok(ExitCode::SUCCESS);
    };
    let format = match opts.format {
        TrimFormat::Docker => ArchiveFormat::DockerLegacy,
        TrimFormat::Oci => ArchiveFormat::DockerOci,
    };
    let trimmed_opts = TrimmedOptions {
        format,
        squash: opts.squash,
        tag: opts.load.clone(),
        platform: args.image.platform.clone(),
        force: opts.force,
        limits: super::common::open_options(&args.image, false, false)
            .read
            .limits,
    };
    let trimmed = write_trimmed(
        source.as_deref(),
        &image,
        &ex,
        &plan,
        &trimmed_opts,
        &archive,
    )?;
    let _ = writeln!(
        stdout,
        "wrote {} ({}, {} layer{}, digests checked)",
        archive.display(),
        match format {
            ArchiveFormat::DockerLegacy => "docker-archive",
            _ => "OCI layout with manifest.json",
        },
        trimmed.written.layers.len(),
        if trimmed.written.layers.len() == 1 {
            ""
        } else {
            "s"
        }
    );
    let _ = write!(
        stdout,
        "{}",
        report::trim_image::summary(&image, &plan, &trimmed.written, opts.squash)
    );
    let Some(client) = client else {
        return Ok(ExitCode::SUCCESS);
    };
    let _ = stdout.flush();
    drop(stdout);
    let before_daemon = match &daemon {
        Some(name) => client.image(name)?.map(|f| f.size),
        None => None,
    };
    if let Some(tag) = &opts.load {
        {
            docker::load::load(&client, &archive)?;
            let facts = client.image(tag)?.ok_or_else(|| {
                Error::Daemon(format!(
                    "the Docker daemon loaded {} but has no {tag}",
                    archive.display()
                ))
            })?;
            println!(
                "loaded {tag} into the Docker daemon: {} as the daemon counts it{}",
                report::text::size(facts.size),
                before_daemon
                    .map(|b| format!(" (the original: {})", report::text::size(b)))
                    .unwrap_or_default()
            );
        }
    }
    let Some(smoke_cmd) = &opts.smoke else {
        return Ok(ExitCode::SUCCESS);
    };
    let cmd = if smoke_cmd.trim().is_empty() {
        smoke::imports(&ex, &plan.removed)
            .ok_or_else(|| {
                Error::Usage(
                    "the trimmed image has no Python interpreter to import packages with; give --smoke a command".into(),
                )
            })?
            .command()
    } else {
        docker::smoke::argv(smoke_cmd)
    };
    // Without --load, the image is loaded untagged for the test and removed afterwards.
    let target = match &opts.load {
        Some(tag) => tag.clone(),
        None => trimmed.written.image_id.clone(),
    };
    let temporary = opts.load.is_none() && client.image(&target)?.is_none();
    if opts.load.is_none() {
        docker::load::load(&client, &archive)?;
    }
    let outcome = docker::smoke::run(&client, &target, &cmd);
    if temporary {
        let _ = client.remove_image(&target);
    }
    let outcome = outcome?;
    let shown = if smoke_cmd.trim().is_empty() {
        "import of every package's top-level module".to_owned()
    } else {
        format!("`{smoke_cmd}`")
    };
    println!(
        "smoke test ({shown}): {} (exit {})",
        if outcome.passed { "PASS" } else { "FAIL" },
        outcome
            .exit_code
            .map(|c| c.to_string())
            .unwrap_or_else(|| "none: timed out".into())
    );
    for line in outcome.output.lines() {
        println!("  | {line}");
    }
    Ok(if outcome.passed {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
