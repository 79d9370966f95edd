//! pyslim: explore Python container images, find what makes them big or unsafe, and say how
//! to fix it.
//!
//! This crate is the app: the command line (`cli`), the user's configuration (`config`), the
//! reports (`report`) and the explorer (`tui`). What it shows comes from two crates whose
//! imports run one way, so a wrong-way import does not compile:
//! - `pyslim-core` (re-exported as `core`, with `error` and `format`): pure computation;
//! - `pyslim-image` (re-exported as `source`, `docker`, `demo`, `temp_files`, `trim_job`,
//!   `fuzzing`): image I/O.
#![deny(clippy::unwrap_used, clippy::panic)]
#![cfg_attr(test, allow(clippy::unwrap_used))]

pub mod cli;
pub mod config;
pub mod report;
pub mod tui;

pub use pyslim_core as core;
pub use pyslim_core::{error, format};
pub use pyslim_image::{demo, docker, fuzzing, source, temp_files, trim_job};

pub use crate::core::analysis::{analyze, Analysis};
pub use crate::core::image::Image;
pub use crate::core::tree::Tree;
pub use crate::error::{Error, Result};
pub use crate::source::{open, OpenOptions, SourceChoice};
