//! Findings: each rule on generated images shaped like real ones (`generated`), and every
//! rule's figures on a real image of PyPI wheels and Debian packages against what reading its
//! layers independently gives (`real`, which skips without the fixture).
//!
//! One test binary with a module per subject, so the crate is linked once for all of them.

#[path = "../common/mod.rs"]
mod common;

/// Findings on generated, real-shaped images: exact bytes, and nothing an app needs.
mod generated;
/// Findings on the real-python fixture, checked against the reference oracle's reading.
mod real;
