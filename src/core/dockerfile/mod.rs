//! Dockerfiles: reading one (parse.rs), finding which instruction made which layer, and
//! writing edits back as a new text (rewrite.rs). Pure text in, text out.

pub mod parse;
pub mod rewrite;

pub use parse::{Dockerfile, Instruction};
