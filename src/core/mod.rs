//! The pure core: image model, merged tree and analysis. No terminal, no Docker API, no async.

pub mod analysis;
pub mod content;
pub mod entry;
pub mod image;
pub mod inventory;
pub mod tree;
