//! `pyslim trim IMAGE --decisions FILE`: the session decided from a file, its report, patch
//! and decisions, and the trimmed image itself (PREFIX.tar), optionally loaded into the
//! daemon (`--load TAG`) and smoke-tested (`--smoke [CMD]`).
//!
//! Everything that can refuse (an output that exists, a source that cannot be rewritten, a
//! tag in use, a removal that would break the app, a default smoke test with no Python) is
//! checked before the first output is written, so a refused run leaves no file behind.

use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

use pyslim::cli::{SourceArg, TrimArgs, TrimFormat};
use pyslim::core::examine;
use pyslim::core::trim_image::smoke;
use pyslim::docker::{self, Client};
use pyslim::report::trim::{Action, IMAGE_SECTION};
use pyslim::source::writer::trimmed::TrimmedOptions;
use pyslim::source::writer::ArchiveFormat;
use pyslim::source::{locate, Location};
use pyslim::trim_job::{refuse_existing, refuse_tag_in_use, Origin, TrimJob};
use pyslim::{report, Error, Result};

use super::inputs::{load_config, open_image, open_options, read_dockerfile};
use super::trim_daemon::{load_and_smoke, AfterWrite, Smoke};

/// `-o out` and `-o out.tar` both mean the prefix `out`.
fn prefix_of(output: &str) -> String {
    output.strip_suffix(".tar").unwrap_or(output).to_owned()
}

/// Where the image argument's image can be read from again, as `source::open` decides it.
fn origin_of(args: &TrimArgs) -> Result<Origin> {
    let image = &args.image;
    let Some(reference) = image.image.as_deref().filter(|_| !image.demo) else {
        return Ok(Origin::Demo);
    };
    Ok(match locate(reference, image.read.source.into())? {
        Location::Daemon(name) | Location::Named(name) => Origin::Daemon(name),
        Location::Registry(name) => Origin::Registry(name),
        Location::Path(path, _) => Origin::File(path),
    })
}

pub(crate) fn run_decisions(args: &TrimArgs, decisions: &Path) -> Result<ExitCode> {
    let input = decisions.display().to_string();
    let text = std::fs::read_to_string(decisions).map_err(|e| Error::io(decisions, e))?;
    let file = pyslim::core::trim_session::DecisionsFile::parse(&input, &text)?;
    let cfg = load_config(args.config.as_deref())?;
    let dockerfile = read_dockerfile(&args.out)?;
    let opts = &args.image_out;
    let prefix = prefix_of(&args.out.output);
    let archive = std::path::PathBuf::from(format!("{prefix}.tar"));
    let want_image = !opts.no_image;
    let format = match opts.format {
        TrimFormat::Docker => ArchiveFormat::DockerLegacy,
        TrimFormat::Oci => ArchiveFormat::DockerOci,
    };
    let limits = open_options(&args.image.read, false, false).read.limits;
    // The cheap refusals first, before the image is read.
    if want_image {
        refuse_existing(&archive, opts.force)?;
    }
    let client = if want_image && (opts.load.is_some() || opts.smoke.is_some()) {
        Some(Client::connect()?)
    } else {
        None
    };
    if let (Some(client), Some(tag)) = (&client, &opts.load) {
        refuse_tag_in_use(client, tag, opts.force)?;
    }
    let origin = origin_of(args)?;
    let mut job = match want_image {
        true => Some(TrimJob::prepare(
            &origin,
            &archive,
            TrimmedOptions {
                format,
                squash: opts.squash,
                tag: opts.load.clone(),
                platform: args.image.read.platform.clone(),
                force: opts.force,
                limits,
            },
            client.as_ref(),
        )?),
        false => None,
    };
    let mut image = match (&origin, &job) {
        // Read from the export the job saved: the daemon is not asked for the image twice.
        (Origin::Daemon(name), Some(job)) => {
            let mut image_args = args.image.clone();
            image_args.image = Some(job.readable().display().to_string());
            image_args.read.source = SourceArg::DockerArchive;
            let mut image = open_image(&image_args, false, false)?;
            image.reference = name.clone();
            image
        }
        _ => open_image(&args.image, false, true)?,
    };
    let ex = examine(
        &image,
        Some(&cfg.rules),
        pyslim::core::analysis::DEFAULT_TOP,
    );
    let mut session = pyslim::core::trim_session::Session::new(&ex);
    session.apply_file(&input, &file)?;
    let plan = match &mut job {
        Some(job) => Some(job.plan(&mut image, &ex, &session, &cfg.rules)?),
        None => None,
    };
    let warnings: Vec<String> = job
        .as_ref()
        .map(|j| j.warnings().to_vec())
        .unwrap_or_default();
    let smoke_plan = match (&plan, &opts.smoke) {
        (Some(plan), Some(cmd)) if cmd.trim().is_empty() => Some(Smoke {
            argv: smoke::imports(&ex, &plan.removed)
                .ok_or_else(|| {
                    Error::Usage(
                        "the trimmed image has no Python interpreter to import packages with; give --smoke a command".into(),
                    )
                })?
                .command(),
            shown: "import of every package's top-level module".into(),
        }),
        (Some(_), Some(cmd)) => Some(Smoke {
            argv: docker::smoke::argv(cmd),
            shown: format!("`{cmd}`"),
        }),
        _ => None,
    };
    let df = dockerfile.as_ref().map(|(n, t)| (n.as_str(), t.as_str()));
    let outputs = report::trim::build(&image, &ex, &cfg.rules, &session, df);
    let mut planned = report::trim::plan_outputs(
        Path::new(&prefix),
        &outputs,
        Some(decisions),
        want_image,
        opts.force,
    )?;
    // Nothing has been written before this line.
    let p = &outputs.projection;
    let mut stdout = std::io::stdout().lock();
    for w in &warnings {
        let _ = writeln!(stdout, "warning: {w}");
    }
    let _ = writeln!(
        stdout,
        "{}: ships {} now, {} with the accepted fixes ({} less){}",
        image.reference,
        report::text::size(p.before),
        report::text::size(p.after),
        report::text::size(p.saved()),
        match p.patch_saved {
            Some(saved) => format!("; the Dockerfile patch saves {}", report::text::size(saved)),
            None => String::new(),
        }
    );
    let (Some(job), Some(plan)) = (job, plan) else {
        report::trim::write_planned(&planned)?;
        print_written(&mut stdout, &planned);
        return Ok(ExitCode::SUCCESS);
    };
    let trimmed = job.write(&image, &ex, &plan)?;
    let layers = trimmed.written.layers.len();
    let wrote = format!(
        "wrote {} ({}, {layers} layer{}, digests checked)",
        archive.display(),
        match format {
            ArchiveFormat::DockerLegacy => "docker-archive",
            _ => "OCI layout with manifest.json",
        },
        if layers == 1 { "" } else { "s" }
    );
    let summary = report::trim_image::summary(&image, &plan, &trimmed.written, opts.squash);
    let mut section = format!("{IMAGE_SECTION}\n{wrote}.\n\n```text\n");
    for w in &warnings {
        section.push_str(&format!("warning: {w}\n"));
    }
    section.push_str(&summary);
    section.push_str("```\n");
    if let Some(md) = planned
        .iter_mut()
        .find(|p| p.path.extension().is_some_and(|e| e == "md"))
    {
        md.text.push_str(&section);
    }
    report::trim::write_planned(&planned)?;
    print_written(&mut stdout, &planned);
    let _ = writeln!(stdout, "{wrote}");
    let _ = write!(stdout, "{summary}");
    let _ = stdout.flush();
    drop(stdout);
    let Some(client) = client else {
        return Ok(ExitCode::SUCCESS);
    };
    let report_path = planned
        .iter()
        .find(|p| p.path.extension().is_some_and(|e| e == "md"))
        .map(|p| p.path.clone());
    let original = match &origin {
        Origin::Daemon(name) => Some(name.as_str()),
        _ => None,
    };
    load_and_smoke(&AfterWrite {
        client: &client,
        image: &image,
        plan: &plan,
        written: &trimmed.written,
        archive: &archive,
        squash: opts.squash,
        original,
        tag: opts.load.as_deref(),
        smoke: smoke_plan.as_ref(),
        report: report_path.as_deref(),
    })
}

fn print_written(out: &mut impl Write, planned: &[report::trim::Planned]) {
    for p in planned {
        let _ = match p.action {
            Action::Keep(why) => writeln!(out, "kept {} ({why})", p.path.display()),
            _ => writeln!(out, "wrote {}", p.path.display()),
        };
    }
}
