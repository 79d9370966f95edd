//! pyslim's image I/O: where images come from and where pyslim's own images go.
//!
//! - `source`: the Docker daemon (bollard), `docker save` archives and OCI layouts, read into
//!   the core's [`pyslim_core::image::Image`]; and `source::writer`, which writes images
//!   (trimmed images, test fixtures, the demo).
//! - `docker`: the engine's actions that check what pyslim made (load, build, smoke run).
//! - `demo`: the image built into the binary, for a first run with no daemon.
//! - `trim_job`: the one trim job (refuse, plan, write, load, smoke) the command and the
//!   explorer both run.
//! - `temp_files`: temporary files beside an output, removed on failure and on signals.
//! - `fuzzing`: the entry points the fuzz targets and their regression tests share.
//!
//! Depends on `pyslim-core`, never on the app (terminal, CLI).
#![deny(clippy::unwrap_used, clippy::panic)]
#![cfg_attr(test, allow(clippy::unwrap_used))]

pub mod demo;
pub mod docker;
pub mod fuzzing;
pub mod source;
pub mod temp_files;
pub mod trim_job;
