//! Trimming: the session and its screen, the safety checks before a trimmed image is written,
//! the image and files `pyslim trim --decisions` writes, and, where a Docker engine or the
//! end-to-end fixture is present, trimmed images loaded, smoke-tested and rebuilt for real.
//!
//! One test binary with a module per subject, so the crate is linked once for all of them.

#[path = "../common/mod.rs"]
mod common;

/// A real build of the e2e app, patched by a session's Dockerfile patch (needs the e2e fixture).
mod build;
/// Trimmed images through the Docker daemon: load, smoke import, measured size.
mod daemon;
/// The e2e image's session: what it accepts can be applied, its figures agree.
mod e2e;
/// The entrypoint/command safety check in the forms images use.
mod entrypoint;
/// A daemon that misbehaves during the export, Ctrl-C and SIGTERM: no hang, no leftovers.
mod faults;
/// The trimmed archive, re-read and hashed: the original tree minus the removed paths.
mod image;
/// What `pyslim trim --decisions` writes, and what it never touches.
mod outputs;
/// DT_NEEDED of big ELF files in compressed layers, read again before the safety check.
mod reprobe;
/// Removals that would break the interpreter, a library, a package or the entrypoint.
mod safety;
/// The session itself, the explorer's trim screen and the report, patch and decisions.
mod session;
/// The default smoke test's plan: each kept package imported by its own interpreter.
mod smoke;
