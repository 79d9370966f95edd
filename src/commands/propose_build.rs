//! `pyslim propose --build`: build the proposal through the engine, measure each runtime
//! layer against the estimate, run the smoke command, and clean up what pyslim made.

use std::path::PathBuf;

use pyslim::cli::ProposeArgs;
use pyslim::core::dockerfile::Dockerfile;
use pyslim::core::image::Image;
use pyslim::core::propose::Proposal;
use pyslim::docker::{build, smoke, Client};
use pyslim::report::propose::{Measured, MeasuredLayer, SmokeResult};
use pyslim::{Error, Result};

pub(crate) fn build_and_measure(
    args: &ProposeArgs,
    proposal: &Proposal,
    image: &Image,
) -> Result<Measured> {
    // The engine API's classic builder rejects BuildKit syntax mid-build; say so first.
    if let Some((line, text, what)) =
        pyslim::core::dockerfile::buildkit_only(&Dockerfile::parse(&proposal.dockerfile))
    {
        return Err(Error::Usage(format!(
            "--build uses the engine's classic builder, which cannot build {what} ({}:{line}: {text}); build {} with BuildKit (docker buildx build) instead, or drop that syntax",
            args.output.display(),
            args.output.display()
        )));
    }
    let client = Client::connect()?;
    let tag = args
        .tag
        .clone()
        .unwrap_or_else(|| build::default_tag(&image.reference));
    // The tag may name an image of the user's: building would take it over and the clean-up
    // would remove it.
    if client.image(&tag)?.is_some() && !args.force {
        return Err(Error::Usage(format!(
            "{tag} already exists in the Docker daemon; pyslim will not replace it: pass --tag NAME, or --force"
        )));
    }
    let context = args.context.clone().unwrap_or_else(|| {
        args.dockerfile
            .as_ref()
            .and_then(|f| f.parent().map(PathBuf::from))
            .filter(|d| !d.as_os_str().is_empty())
            .unwrap_or_else(|| PathBuf::from("."))
    });
    let built = build::build(
        &client,
        &build::BuildRequest {
            context: &context,
            dockerfile: &proposal.dockerfile,
            tag: &tag,
            build_args: &args.build_args,
            network: args.network.as_deref(),
        },
    )?;
    let measured = measure(&client, &tag, &built, proposal);
    let smoke = match (&measured, &args.smoke) {
        (Ok(_), Some(cmd)) => Some(run_smoke(&client, &tag, cmd)),
        _ => None,
    };
    // Clean up whatever happened above.
    let cleanup = if args.keep {
        Ok(())
    } else {
        let removed = client.remove_image(&tag);
        for id in &built.stage_images {
            // Builder stages are untagged; a stage still in use elsewhere stays.
            let _ = build::remove_unused(&client, id);
        }
        removed
    };
    let mut measured = measured?;
    measured.smoke = smoke.transpose()?;
    measured.kept = args.keep;
    cleanup?;
    Ok(measured)
}

/// Sizes of the built image: the runtime stage's layers (the newest history entries, one
/// per instruction after its FROM) against the estimate, and the base below them.
fn measure(
    client: &Client,
    tag: &str,
    built: &build::Built,
    proposal: &Proposal,
) -> Result<Measured> {
    let facts = client
        .image(tag)?
        .ok_or_else(|| Error::Daemon(format!("the engine built {tag} but cannot find it")))?;
    let history = build::history(client, tag)?;
    let df = Dockerfile::parse(&proposal.dockerfile);
    let runtime_instructions = df
        .final_stage()
        .filter(|(_, i)| i.keyword != "FROM")
        .count();
    let ours: Vec<&build::HistoryLayer> = history.iter().take(runtime_instructions).rev().collect();
    let ours_bytes: u64 = ours.iter().map(|h| h.size).sum();
    let makes_layer =
        |by: &str| !by.contains("#(nop)") || by.contains(" COPY ") || by.contains(" ADD ");
    let mut estimates = proposal.estimate.layers.iter();
    let mut layers = vec![MeasuredLayer {
        instruction: format!("FROM {}", proposal.estimate.base.image),
        estimated: Some(proposal.estimate.base.bytes),
        measured: facts.size.saturating_sub(ours_bytes),
    }];
    for h in ours.iter().filter(|h| makes_layer(&h.created_by)) {
        layers.push(MeasuredLayer {
            instruction: pyslim::core::image::HistoryEntry {
                created_by: h.created_by.clone(),
                ..Default::default()
            }
            .instruction(),
            estimated: estimates.next().map(|e| e.bytes),
            measured: h.size,
        });
    }
    let estimated = proposal.estimate.total_bytes as f64;
    Ok(Measured {
        tag: tag.to_owned(),
        image_id: built.image_id.clone(),
        total_bytes: facts.size,
        base_bytes: facts.size.saturating_sub(ours_bytes),
        layers,
        estimate_error: if facts.size > 0 {
            (estimated - facts.size as f64) / facts.size as f64
        } else {
            0.0
        },
        kept: false,
        smoke: None,
    })
}

fn run_smoke(client: &Client, tag: &str, cmd: &str) -> Result<SmokeResult> {
    let argv = smoke::argv(cmd);
    let outcome = smoke::run(client, tag, &argv)?;
    Ok(SmokeResult {
        command: argv,
        passed: outcome.passed,
        exit_code: outcome.exit_code.unwrap_or(-1),
        output: outcome.output,
    })
}
