//! Non-interactive outputs: text for people, JSON for scripts, Markdown for pull requests,
//! SARIF for code scanning; `output` chooses the format and where it goes.

pub mod baseline;
pub mod check;
pub mod compare;
pub mod html;
pub mod json;
pub mod markdown;
pub mod output;
pub mod propose;
pub mod sarif;
pub mod schema;
pub mod text;
pub mod trim;
pub mod trim_image;
