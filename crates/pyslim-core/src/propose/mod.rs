//! Proposals: a multi-stage Dockerfile that rebuilds the image without what its findings
//! flag, and an estimate of what that image will weigh. Pure: the caller hands in the image,
//! its examination, the user's Dockerfile if any, and what it measured of the new base.

pub mod bases;
mod builder;
pub mod estimate;
mod heredoc_files;
mod image_python;
pub mod interpreter;
pub mod libraries;
mod packages;
mod pip;
pub mod plan;
mod render;
mod reorder;
mod runtime;
mod runtime_os;
pub mod shell;
mod stages;
pub mod steps;

use serde::Serialize;

pub use self::bases::{Bases, Target};
pub use self::estimate::{BaseFacts, BaseSize, Estimate};
pub use self::plan::Plan;

use crate::dockerfile::{rewrite::unified_diff, Dockerfile};
use crate::findings::RuleSet;
use crate::image::Image;
use crate::Examination;
use crate::Result;

/// What the user asked for.
pub struct Request<'a> {
    pub image: &'a Image,
    pub ex: &'a Examination,
    pub rules: &'a RuleSet,
    /// Their Dockerfile: (name, text).
    pub dockerfile: Option<(&'a str, &'a str)>,
    pub target: Target,
    pub bases: &'a Bases,
    pub builder_base: Option<&'a str>,
    pub runtime_base: Option<&'a str>,
    /// A template of the user's own: (name, text).
    pub template: Option<(&'a str, &'a str)>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Proposal {
    pub image: String,
    pub dockerfile: String,
    /// Unified diff from the user's Dockerfile (or the reconstructed one) to the proposal.
    pub diff: String,
    /// The Dockerfile reconstructed from history, when none was given.
    pub reconstructed: Option<String>,
    pub plan: Plan,
    pub estimate: Estimate,
}

/// The runtime base a request will use (so the caller can measure it before proposing).
pub fn runtime_base(req: &Request) -> Result<String> {
    if let Some(b) = req.runtime_base {
        return Ok(b.to_owned());
    }
    let version =
        plan::python_version(&req.ex.inventory).unwrap_or_else(|| plan::FALLBACK_PYTHON.into());
    let tb = req.bases.target(req.target)?;
    Ok(bases::fill(&tb.runtime, &version))
}

/// Plans, renders and estimates a proposal. `base` is what the caller measured of the
/// runtime base (from the daemon); without it the table's size is used.
pub fn propose(req: &Request, base: &BaseFacts) -> Result<Proposal> {
    let (steps, original, reconstructed) = match req.dockerfile {
        Some((name, text)) => {
            let df = Dockerfile::parse(text);
            (
                steps::from_dockerfile(&df, req.image),
                (name.to_owned(), text.to_owned()),
                None,
            )
        }
        None => {
            let s = steps::reconstruct(req.image);
            let text = steps::reconstructed_text(&s, req.image);
            (s, ("Dockerfile".to_owned(), text.clone()), Some(text))
        }
    };
    let plan = plan::plan(&plan::PlanInput {
        image: req.image,
        ex: req.ex,
        rules: req.rules,
        steps: &steps,
        target: req.target,
        bases: req.bases,
        builder_base: req.builder_base,
        runtime_base: req.runtime_base,
        runtime_digest: base.digest.as_deref(),
        runtime_pythons: base.pythons.as_deref(),
    })?;
    let dockerfile = render::render(&plan, &req.image.reference, req.template)?;
    let base_name = runtime_base(req)?;
    let base_size = match (base.bytes, req.bases.size_of(&base_name)) {
        (Some(b), _) => BaseSize {
            image: base_name,
            bytes: b,
            source: "daemon".into(),
            date: None,
        },
        (None, Some(b)) => BaseSize {
            image: base_name,
            bytes: b,
            source: "table".into(),
            date: Some(req.bases.date.clone()),
        },
        (None, None) => BaseSize {
            image: base_name,
            bytes: 0,
            source: "unknown".into(),
            date: None,
        },
    };
    let mut plan = plan;
    if base_size.source == "unknown" {
        plan.warnings.push(format!(
            "the size of {} is unknown (not in the daemon, not in the table): the estimate leaves the base out",
            base_size.image
        ));
    }
    let estimate = estimate::estimate(
        req.image,
        req.ex,
        req.rules,
        &plan,
        steps.first_user_layer,
        base_size,
    );
    let diff = unified_diff(&original.1, &dockerfile, &original.0);
    Ok(Proposal {
        image: req.image.reference.clone(),
        dockerfile,
        diff,
        reconstructed,
        plan,
        estimate,
    })
}
