//! `pyslim propose --build`: build the proposal through the engine, measure each runtime
//! layer against the estimate, run the smoke command, and clean up what pyslim made.

use std::path::PathBuf;

use pyslim::cli::ProposeArgs;
use pyslim::core::dockerfile::Dockerfile;
use pyslim::core::image::Image;
use pyslim::core::propose::Proposal;
use pyslim::docker::{build, smoke, Client, ImageFacts};
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
    // The tag may name an image of the user's: building would take it over. Only with
    // --replace-tag, and then the tag is given back to that image afterwards (unless --keep).
    let previous = client.image(&tag)?;
    if previous.is_some() && !args.replace_tag {
        return Err(Error::Usage(format!(
            "{tag} already exists in the Docker daemon; pyslim will not take it over: pass --tag NAME, or --replace-tag"
        )));
    }
    let context = args.context.clone().unwrap_or_else(|| {
        args.dockerfile
            .as_ref()
            .and_then(|f| f.parent().map(PathBuf::from))
            .filter(|d| !d.as_os_str().is_empty())
            .unwrap_or_else(|| PathBuf::from("."))
    });
    // What exists now is the user's: clean-up removes only images this build made.
    let before = client.image_ids()?;
    let mut made = Vec::new();
    let built = build::build(
        &client,
        &build::BuildRequest {
            context: &context,
            dockerfile: &proposal.dockerfile,
            tag: &tag,
            build_args: &args.build_args,
            network: args.network.as_deref(),
        },
        &mut made,
    );
    let built = match built {
        Ok(b) => b,
        Err(e) => {
            // A failed build still leaves the step images it committed.
            for id in build::removable(&made, &before, None) {
                let _ = build::remove_step_image(&client, &id, &tag);
            }
            restore_tag(&client, previous.as_ref(), &tag);
            return Err(e);
        }
    };
    let measured = measure(&client, &tag, &built, proposal);
    let smoke = match (&measured, &args.smoke) {
        (Ok(_), Some(cmd)) => Some(run_smoke(&client, &tag, cmd)),
        _ => None,
    };
    // Clean up whatever happened above: the builder stages always, the image unless --keep.
    let keep = args.keep.then_some(built.image_id.as_str());
    let mut cleanup = Ok(());
    for id in build::removable(&made, &before, keep) {
        // An image that is a parent of one we keep (or that another build now uses) stays,
        // and so does one with someone else's tag.
        let _ = build::remove_step_image(&client, &id, &tag);
    }
    if !args.keep {
        if build::existed(&before, &built.image_id) {
            // Every step came from the cache: the image was there before; only untag it.
            cleanup = restore_or_untag(&client, previous.as_ref(), &tag, &built.image_id);
        } else {
            if client.image(&tag)?.is_some() {
                cleanup = build::remove_made(&client, &tag);
            }
            restore_tag(&client, previous.as_ref(), &tag);
        }
    } else if let Some(p) = &previous {
        eprintln!(
            "pyslim: {tag} now names the proposal (--keep --replace-tag); the image it named before is {}",
            p.id
        );
    }
    let mut measured = measured?;
    measured.smoke = smoke.transpose()?;
    measured.kept = args.keep;
    cleanup?;
    Ok(measured)
}

/// Gives `tag` back to the image it named before the build (--replace-tag).
fn restore_tag(client: &Client, previous: Option<&ImageFacts>, tag: &str) {
    if let Some(p) = previous {
        if let Err(e) = client.tag(&p.id, tag) {
            eprintln!("pyslim: could not give {tag} back to {}: {e}", p.id);
        }
    }
}

/// For a build the cache supplied whole: the tag goes back to its old image, or, when it
/// named none, comes off the (pre-existing) built image without deleting it.
fn restore_or_untag(
    client: &Client,
    previous: Option<&ImageFacts>,
    tag: &str,
    built: &str,
) -> Result<()> {
    match previous {
        Some(p) => client.tag(&p.id, tag),
        None => {
            let tags = client.image(built)?.map(|f| f.tags.len()).unwrap_or(0);
            if tags > 1 {
                // Other tags keep the image; removing ours only untags it.
                build::remove_made(client, tag)
            } else {
                eprintln!("pyslim: {tag} was built entirely from cached images that existed before; it is left tagged");
                Ok(())
            }
        }
    }
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
