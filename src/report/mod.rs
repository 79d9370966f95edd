//! Non-interactive outputs: text for people, JSON for scripts.

pub mod json;
pub mod text;
