//! After `pyslim trim --decisions` wrote PREFIX.tar: the trim job loads it (`--load TAG`),
//! measures it as the daemon counts it (inspect for the total, image history per layer) and
//! smoke-tests it (`--smoke [CMD]`); here, what the daemon said goes to stdout and is added
//! to PREFIX.md.

use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

use pyslim::core::image::{HistoryEntry, Image};
use pyslim::core::trim_image::TrimPlan;
use pyslim::docker::Client;
use pyslim::report::trim_image::{daemon_layers, measured, Measured};
use pyslim::source::writer::rewrite::Rewritten;
use pyslim::trim_job;
use pyslim::{report, Error, Result};

/// The smoke test to run: its argv and how the result line names it.
pub(super) struct Smoke {
    pub argv: Vec<String>,
    pub shown: String,
}

pub(super) struct AfterWrite<'a> {
    pub client: &'a Client,
    pub image: &'a Image,
    pub plan: &'a TrimPlan,
    pub written: &'a Rewritten,
    pub archive: &'a Path,
    pub squash: bool,
    /// The daemon name the original came from, when it came from the daemon.
    pub original: Option<&'a str>,
    pub tag: Option<&'a str>,
    pub smoke: Option<&'a Smoke>,
    /// PREFIX.md, which this run wrote, to add the daemon's results to.
    pub report: Option<&'a Path>,
}

/// The trimmed image's history steps, as `rewrite` wrote them: the original's, all made
/// empty by a squash, and pyslim's (which made the one layer of a squash).
fn trimmed_steps(image: &Image, squash: bool) -> Vec<HistoryEntry> {
    let mut steps = image.history.clone();
    if squash {
        for s in &mut steps {
            s.empty_layer = true;
        }
    }
    steps.push(HistoryEntry {
        created: None,
        created_by: "pyslim trim".into(),
        comment: None,
        empty_layer: !squash,
    });
    steps
}

/// Prints `text` and adds it to the report this run wrote.
fn tell(report: Option<&Path>, text: &str) -> Result<()> {
    print!("{text}");
    let _ = std::io::stdout().flush();
    if let Some(path) = report {
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .open(path)
            .map_err(|e| Error::io(path, e))?;
        f.write_all(format!("\n```text\n{text}```\n").as_bytes())
            .map_err(|e| Error::io(path, e))?;
    }
    Ok(())
}

pub(super) fn load_and_smoke(w: &AfterWrite) -> Result<ExitCode> {
    let client = w.client;
    if let Some(tag) = w.tag {
        let facts = trim_job::load(client, w.archive, tag, w.original)?;
        let original = facts.original.map(|o| {
            let layers = o
                .history
                .and_then(|h| daemon_layers(&h, &w.image.history, w.image.layers.len()));
            (o.total, layers)
        });
        let layers = facts.trimmed.history.as_ref().and_then(|h| {
            daemon_layers(h, &trimmed_steps(w.image, w.squash), w.written.layers.len())
        });
        let mut text = format!(
            "loaded {tag} into the Docker daemon: {} as the daemon counts it{}\n",
            report::text::size(facts.trimmed.total),
            original
                .as_ref()
                .map(|(b, _)| format!(" (the original: {})", report::text::size(*b)))
                .unwrap_or_default()
        );
        text.push_str(&measured(
            w.image,
            w.plan,
            w.squash,
            &Measured {
                tag,
                total: facts.trimmed.total,
                original_total: original.as_ref().map(|(b, _)| *b),
                layers,
                original_layers: original.and_then(|(_, l)| l),
            },
        ));
        tell(w.report, &text)?;
    }
    let Some(smoke) = w.smoke else {
        return Ok(ExitCode::SUCCESS);
    };
    let outcome = trim_job::smoke(client, w.archive, w.tag, &w.written.image_id, &smoke.argv)?;
    let mut text = format!(
        "smoke test ({}): {} (exit {})\n",
        smoke.shown,
        if outcome.passed { "PASS" } else { "FAIL" },
        outcome
            .exit_code
            .map(|c| c.to_string())
            .unwrap_or_else(|| "none: timed out".into())
    );
    for line in outcome.output.lines() {
        text.push_str(&format!("  | {line}\n"));
    }
    tell(w.report, &text)?;
    Ok(if outcome.passed {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
