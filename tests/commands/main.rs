//! The commands through the real binary: exit codes and the exact words users see, the
//! `check` CI gate, `compare` (and its explorer view), and what a full run writes to disk.
//!
//! One test binary with a module per subject, so the crate is linked once for all of them.

#[path = "../common/mod.rs"]
mod common;

/// `pyslim check`: exit 0 pass, 1 fail, 2 error.
mod check;
/// Good and bad input: exit codes and the one-line errors.
mod cli;
/// `pyslim compare` on slim, distroless and alpine variants of one app.
mod compare;
/// A full run writes only the files the user named.
mod writes;
