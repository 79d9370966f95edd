//! One module per command; main.rs only dispatches.

mod analyze;
mod cache;
mod compare;
mod inputs;
mod interactive;
mod propose;
mod propose_build;
mod trim_daemon;
mod trim_image;

pub(crate) use analyze::{run_analyze, run_check};
pub(crate) use cache::run_cache;
pub(crate) use compare::run_compare;
pub(crate) use interactive::{run_explore, run_trim};
pub(crate) use propose::run_propose;
