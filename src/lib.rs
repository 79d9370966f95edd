//! pyslim: explore Python container images, find what makes them big or unsafe, and say how
//! to fix it.
//!
//! The library is a pure core (`core`) fed by thin sources (`source`), with reports on top.
#![deny(clippy::unwrap_used, clippy::panic)]
#![cfg_attr(test, allow(clippy::unwrap_used))]

pub mod cli;
pub mod config;
pub mod core;
pub mod demo;
pub mod docker;
pub mod error;
pub mod fuzzing;
pub mod partial;
pub mod report;
pub mod source;
pub mod text;
pub mod tui;

pub use crate::core::analysis::{analyze, Analysis};
pub use crate::core::image::Image;
pub use crate::core::tree::Tree;
pub use crate::error::{Error, Result};
pub use crate::source::{open, OpenOptions, SourceChoice};
