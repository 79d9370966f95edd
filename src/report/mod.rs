//! Non-interactive outputs: text for people, JSON for scripts.

pub mod check;
pub mod compare;
pub mod json;
pub mod propose;
pub mod text;
pub mod trim;
pub mod trim_image;
