//! `pyslim propose`: the Dockerfile reader, proposals for a generated careless image (every
//! figure worked out from the spec), and, with a Docker engine and the e2e fixture, proposals
//! built, smoke-tested and measured for real.
//!
//! One test binary with a module per subject, so the crate is linked once for all of them.

#[path = "../common/mod.rs"]
mod common;

/// `propose --build` end to end on this machine's engine (needs the e2e fixture).
mod build;
/// The Dockerfile reader on the shapes people write.
mod dockerfile_parse;
/// Proposals for a generated image shaped like a careless real one.
mod proposal;
