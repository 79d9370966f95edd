//! `pyslim trim IMAGE --decisions FILE`: the session decided from a file, its report, patch
//! and decisions, and the trimmed image itself (PREFIX.tar), optionally loaded into the
//! daemon (`--load TAG`) and smoke-tested (`--smoke [CMD]`).
//!
//! Everything that can refuse (an output that exists, a source that cannot be rewritten, a
//! tag in use, a removal that would break the app, a default smoke test with no Python) is
//! checked before the first output is written, so a refused run leaves no file behind.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use pyslim::cli::{TrimArgs, TrimFormat};
use pyslim::core::examine;
use pyslim::core::trim_image::smoke;
use pyslim::docker::{self, Client};
use pyslim::partial::Partial;
use pyslim::report::trim::{Action, IMAGE_SECTION};
use pyslim::source::writer::rewrite::check_source;
use pyslim::source::writer::trimmed::{
    checked_plan, refuse_source_as_output, write_trimmed, TrimmedOptions,
};
use pyslim::source::writer::ArchiveFormat;
use pyslim::source::SourceChoice;
use pyslim::{report, Error, Result};

use super::common::{load_config, open_image, read_dockerfile};
use super::trim_daemon::{load_and_smoke, AfterWrite, Smoke};

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
    let other_transport = ["docker-archive:", "oci-archive:", "oci:", "registry://"]
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

fn exists_error(path: &Path) -> Error {
    Error::Usage(format!(
        "{} exists; pyslim never writes over a file unless --force: choose another prefix with -o",
        path.display()
    ))
}

/// A trimmed image is written from the source's layer blobs, which a registry read streams
/// and does not keep: for a registry image, say where to get a copy that can be trimmed.
fn refuse_registry_source(args: &TrimArgs) -> Result<()> {
    let image = &args.image;
    let Some(reference) = image.image.as_deref().filter(|_| !image.demo) else {
        return Ok(());
    };
    let name = match reference.strip_prefix("registry://") {
        Some(name) => name,
        None if image.source == SourceChoice::Registry => reference,
        None => return Ok(()),
    };
    Err(Error::Usage(format!(
        "{name}: a trimmed image is written from the image's own layers, which pyslim does not keep from a registry: pull it into the Docker daemon first (docker pull {name}) and trim that, or pass --no-image"
    )))
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
    // The cheap refusals first, before the image is read.
    if want_image {
        refuse_registry_source(args)?;
    }
    if want_image && archive.exists() && !opts.force {
        return Err(exists_error(&archive));
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
    // The daemon's export, saved beside the output to be read twice; the guard removes it.
    let mut saved: Option<Partial> = None;
    let (mut image, source) = match &daemon {
        Some(name) => {
            let client = match &client {
                Some(c) => c,
                None => &Client::connect()?,
            };
            let (guard, f) = Partial::create(&archive, "source")?;
            let at = guard.path().to_owned();
            saved = Some(guard);
            client.save(name, f, &at)?;
            let mut image_args = args.image.clone();
            image_args.image = Some(at.display().to_string());
            image_args.source = SourceChoice::DockerArchive;
            let mut image = open_image(&image_args, false, false)?;
            image.reference = name.clone();
            (image, Some(at))
        }
        None => {
            let image = open_image(&args.image, false, true)?;
            let source = match image.source {
                pyslim::core::image::SourceKind::Demo => None,
                _ => Some(PathBuf::from(&image.reference)),
            };
            (image, source)
        }
    };
    if let (true, Some(source)) = (want_image, &source) {
        // `-o` naming the source itself is refused even with --force, before any write.
        refuse_source_as_output(source, &archive)?;
        // A `docker save | gzip` stream reads fine but cannot be rewritten: say so now.
        check_source(source)?;
    }
    let ex = examine(
        &image,
        Some(&cfg.rules),
        pyslim::core::analysis::DEFAULT_TOP,
    );
    let mut session = pyslim::core::trim::Session::new(&ex);
    session.apply_file(&input, &file)?;
    let mut warnings = Vec::new();
    let plan = match (want_image, &source) {
        (false, _) => None,
        (true, src) => {
            let first = pyslim::core::trim_image::plan(&image, &ex, &session, &cfg.rules);
            // Streamed layers leave big ELF files' DT_NEEDED unknown: read them again.
            if let Some(src) = src {
                let limits = super::common::open_options(&args.image, false, false)
                    .read
                    .limits;
                let reprobe = pyslim::source::writer::reprobe::needed_of_kept(
                    src,
                    &mut image,
                    &ex.tree,
                    &first.removed,
                    args.image.platform.as_deref(),
                    limits.max_json_bytes,
                )?;
                // The safety check reads ELF facts from the image's captures, which the
                // second pass filled in; the examination (tree, findings) is unchanged.
                warnings.extend(reprobe.warning());
            }
            Some(checked_plan(&image, &ex, &session, &cfg.rules)?)
        }
    };
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
    let Some(plan) = plan else {
        report::trim::write_planned(&planned)?;
        print_written(&mut stdout, &planned);
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
    drop(saved);
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
    load_and_smoke(&AfterWrite {
        client: &client,
        image: &image,
        plan: &plan,
        written: &trimmed.written,
        archive: &archive,
        squash: opts.squash,
        original: daemon.as_deref(),
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
