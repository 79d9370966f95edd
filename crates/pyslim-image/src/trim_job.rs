//! The one trim job, run by `pyslim trim --decisions` and by the explorer's trim screen alike:
//!
//! 1. `prepare`: refuse an output that exists or that is the source itself, and make the image
//!    readable again from a file (its archive or layout; the daemon's export or the demo image
//!    written beside the output, removed when the job ends);
//! 2. `plan`: read again the ELF facts a stream left unknown, then plan and refuse what would
//!    break the app (`pyslim_core::trim_image::checked_plan`, pure);
//! 3. `write`: rewrite the layers and check the result (`source::writer::trimmed`);
//! 4. `load` and `smoke`: put the trimmed image in the engine and run a command in it.
//!
//! Every refusal comes before the first byte is written, so a refused job leaves no file.

use std::path::{Path, PathBuf};

use pyslim_core::error::{Error, Result};
use pyslim_core::findings::RuleSet;
use pyslim_core::image::{Image, SourceKind};
use pyslim_core::trim_image::{checked_plan, plan, TrimPlan};
use pyslim_core::trim_session::Session;
use pyslim_core::Examination;

use crate::docker::smoke::SmokeOutcome;
use crate::docker::{self, Client};
use crate::source::writer::reprobe::needed_of_kept;
use crate::source::writer::rewrite::check_source;
use crate::source::writer::trimmed::{
    refuse_source_as_output, write_trimmed, Trimmed, TrimmedOptions,
};
use crate::source::writer::{write_archive, ArchiveFormat};
use crate::temp_files::Partial;

/// Where the image to trim can be read from again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// The demo image built into pyslim: written out for the rewrite.
    Demo,
    /// An image in the Docker daemon, by name: its export is saved beside the output.
    Daemon(String),
    /// A docker-archive or an OCI layout (directory or tar).
    File(PathBuf),
    /// An image in a registry, by name: read as a stream, never kept, so it cannot be
    /// rewritten (the job says to pull it first).
    Registry(String),
}

impl Origin {
    /// Where an image already opened came from.
    pub fn of(image: &Image) -> Origin {
        match image.source {
            SourceKind::Demo => Origin::Demo,
            SourceKind::Docker => Origin::Daemon(image.reference.clone()),
            SourceKind::DockerArchive | SourceKind::Oci => {
                Origin::File(PathBuf::from(&image.reference))
            }
            SourceKind::Registry => Origin::Registry(image.reference.clone()),
        }
    }
}

/// One trim in progress: the output it will write and the file the image is read from.
pub struct TrimJob {
    archive: PathBuf,
    options: TrimmedOptions,
    readable: PathBuf,
    /// The readable file's layers must hash to the image's diff_ids (not so for the demo,
    /// which is written anew).
    check_diff_ids: bool,
    /// The daemon's export or the demo, written beside the output; removed when dropped.
    copy: Option<Partial>,
    warnings: Vec<String>,
}

impl TrimJob {
    /// Refuses what can be refused before the image is read, and makes it readable again.
    /// `client` is reused for the daemon's export when the caller has one.
    pub fn prepare(
        origin: &Origin,
        archive: &Path,
        options: TrimmedOptions,
        client: Option<&Client>,
    ) -> Result<TrimJob> {
        refuse_existing(archive, options.force)?;
        let (readable, copy, check_diff_ids) = match origin {
            Origin::Registry(name) => {
                return Err(Error::Usage(format!(
                    "{name}: a trimmed image is written from the image's own layers, which pyslim does not keep from a registry: pull it into the Docker daemon first (docker pull {name}) and trim that, or pass --no-image"
                )))
            }
            Origin::File(path) => {
                // `-o` naming the source itself is refused even with --force.
                refuse_source_as_output(path, archive)?;
                // A `docker save | gzip` stream reads fine but cannot be rewritten.
                check_source(path)?;
                (path.clone(), None, true)
            }
            Origin::Daemon(name) => {
                let connected;
                let client = match client {
                    Some(c) => c,
                    None => {
                        connected = Client::connect()?;
                        &connected
                    }
                };
                // A hidden, uniquely named file that the guard removes whatever happens
                // (also when the save itself fails).
                let (guard, file) = Partial::create(archive, "source")?;
                let at = guard.path().to_owned();
                client.save(name, file, &at)?;
                (at, Some(guard), true)
            }
            Origin::Demo => {
                let spec = crate::demo::spec()?;
                let (guard, file) = Partial::create(archive, "demo")?;
                write_archive(
                    &spec,
                    ArchiveFormat::DockerLegacy,
                    std::io::BufWriter::new(file),
                )
                .map_err(|e| Error::io(guard.path(), e))?;
                (guard.path().to_owned(), Some(guard), false)
            }
        };
        Ok(TrimJob {
            archive: archive.to_owned(),
            options,
            readable,
            check_diff_ids,
            copy,
            warnings: Vec::new(),
        })
    }

    /// The file the image can be read from: the command opens a daemon image from the saved
    /// export rather than asking the daemon for a second one.
    pub fn readable(&self) -> &Path {
        &self.readable
    }

    /// What the user should know about the plan (ELF files that could not be checked).
    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }

    pub fn archive(&self) -> &Path {
        &self.archive
    }

    /// Plans the trim of `image` as `session` decided, refusing (one line, every reason)
    /// what would break the app. Big ELF files read from a stream have unknown DT_NEEDED: they
    /// are read again from the file first, so the safety check knows what they need.
    pub fn plan(
        &mut self,
        image: &mut Image,
        ex: &Examination,
        session: &Session,
        rules: &RuleSet,
    ) -> Result<TrimPlan> {
        if self.check_diff_ids {
            let first = plan(image, ex, session, rules);
            let reprobe = needed_of_kept(
                &self.readable,
                image,
                &ex.tree,
                &first.removed,
                self.options.platform.as_deref(),
                self.options.limits.max_json_bytes,
            )?;
            self.warnings.extend(reprobe.warning());
        }
        checked_plan(image, ex, session, rules)
    }

    /// Writes the trimmed archive and checks it; the saved copy goes when the job does.
    pub fn write(self, image: &Image, ex: &Examination, plan: &TrimPlan) -> Result<Trimmed> {
        let expected: Option<Vec<String>> = self
            .check_diff_ids
            .then(|| image.layers.iter().map(|l| l.diff_id.clone()).collect());
        let trimmed = write_trimmed(
            &self.readable,
            expected.as_deref(),
            image,
            ex,
            plan,
            &self.options,
            &self.archive,
        );
        drop(self.copy);
        trimmed
    }
}

/// Refuses an output that exists, unless `force`: the cheapest refusal, made first.
pub fn refuse_existing(archive: &Path, force: bool) -> Result<()> {
    if archive.exists() && !force {
        return Err(Error::Usage(format!(
            "{} exists; pyslim never writes over a file unless --force: choose another prefix with -o",
            archive.display()
        )));
    }
    Ok(())
}

/// Refuses a tag the daemon already has, unless `force`: pyslim never retags an image.
pub fn refuse_tag_in_use(client: &Client, tag: &str, force: bool) -> Result<()> {
    if !force && client.image(tag)?.is_some() {
        return Err(Error::Usage(format!(
            "{tag} already names an image in the Docker daemon; pyslim never retags an image unless --force"
        )));
    }
    Ok(())
}

/// An image as the engine counts it: its total and its layers' sizes from history.
#[derive(Debug, Clone)]
pub struct EngineSize {
    pub total: u64,
    /// `docker history` sizes, newest first; `None` when history could not be read.
    pub history: Option<Vec<u64>>,
}

/// What loading the trimmed image told: its size, and the original's when it is in the daemon.
#[derive(Debug, Clone)]
pub struct LoadFacts {
    pub trimmed: EngineSize,
    pub original: Option<EngineSize>,
}

fn engine_size(client: &Client, reference: &str) -> Result<Option<EngineSize>> {
    Ok(client.image(reference)?.map(|facts| EngineSize {
        total: facts.size,
        history: docker::load::history_sizes(client, reference).ok(),
    }))
}

/// Loads the written archive as `tag` and measures it (and the original, `original`, when
/// the image came from the daemon) as the engine counts them.
pub fn load(
    client: &Client,
    archive: &Path,
    tag: &str,
    original: Option<&str>,
) -> Result<LoadFacts> {
    let original = match original {
        Some(name) => engine_size(client, name)?,
        None => None,
    };
    docker::load::load(client, archive)?;
    let trimmed = engine_size(client, tag)?.ok_or_else(|| {
        Error::Daemon(format!(
            "the Docker daemon loaded {} but has no {tag}",
            archive.display()
        ))
    })?;
    Ok(LoadFacts { trimmed, original })
}

/// Runs `argv` in the trimmed image: `tag` when it was loaded under one, else the archive
/// is loaded untagged for the test (by `image_id`) and removed afterwards.
pub fn smoke(
    client: &Client,
    archive: &Path,
    tag: Option<&str>,
    image_id: &str,
    argv: &[String],
) -> Result<SmokeOutcome> {
    let target = tag.unwrap_or(image_id).to_owned();
    let temporary = tag.is_none() && client.image(&target)?.is_none();
    if tag.is_none() {
        docker::load::load(client, archive)?;
    }
    let outcome = docker::smoke::run(client, &target, argv);
    if temporary {
        let _ = client.remove_image(&target);
    }
    outcome
}
