//! Reading images: every source (docker-archive, OCI layout, the daemon) gives the same model,
//! bad and hostile input is refused with one clear line, and the merged layer tree and its
//! figures match a reference that really extracts the layer tars.
//!
//! One test binary with a module per subject, so the crate is linked once for all of them.

#[path = "../common/mod.rs"]
mod common;

/// Daemon end to end: load a generated image, read it back by name.
mod daemon;
/// Daemon faults through stand-in sockets: timeouts, cut and stalled export streams.
mod daemon_faults;
/// Replays the fuzz corpora and every input that once crashed a fuzz target.
mod fuzz_regressions;
/// The caps against hostile input, through the binary, from every kind of source.
mod limits;
/// Hand-written and xorshift-random stacks against the reference oracle.
mod oracle;
/// Shrinkable proptest stacks against the same reference oracle.
mod proptest_stacks;
/// Every reader on generated images, and the real fixture across sources.
mod readers;
