//! pyslim's pure core: the image model, the merged layer tree and its analysis, inventories,
//! findings, Dockerfile parsing and rewriting, proposals, comparison and trim plans.
//!
//! No terminal, no Docker API, no async, no file I/O: every function here takes plain values,
//! so everything is testable without a daemon. Sources (crate `pyslim-image`) build the
//! [`image::Image`] this crate reads; the app draws and prints what it computes.
#![deny(clippy::unwrap_used, clippy::panic)]
#![cfg_attr(test, allow(clippy::unwrap_used))]

pub mod analysis;
pub mod compare;
pub mod content;
pub mod dockerfile;
pub mod entry;
pub mod error;
pub mod findings;
pub mod format;
pub mod image;
pub mod inventory;
pub mod markers;
pub mod path_match;
pub mod propose;
pub mod tree;
pub mod trim_image;
pub mod trim_session;

pub use self::error::{Error, Result};

use self::analysis::Analysis;
use self::findings::{Findings, RuleSet};
use self::image::Image;
use self::inventory::Inventory;
use self::tree::Tree;

/// Everything pyslim computes about one image, in the order data flows.
pub struct Examination {
    pub tree: Tree,
    pub analysis: Analysis,
    pub inventory: Inventory,
    pub findings: Findings,
    /// The image's warnings and the tree's, together.
    pub warnings: Vec<String>,
}

/// Runs the engine, then (given rules) the inventory and the findings.
pub fn examine(image: &Image, rules: Option<&RuleSet>, top: usize) -> Examination {
    let tree = Tree::build(&image.layers);
    // The analysis and the inventory read the same tree independently: side by side.
    let (analysis, (inventory, findings)) = rayon::join(
        || analysis::analyze(image, &tree, top),
        || match rules {
            Some(rules) => {
                let inventory = inventory::build(image, &tree);
                let findings = findings::evaluate(
                    &findings::Context {
                        image,
                        tree: &tree,
                        inventory: &inventory,
                    },
                    rules,
                );
                (inventory, findings)
            }
            None => (Inventory::default(), Findings::default()),
        },
    );
    let mut warnings = image.warnings.clone();
    warnings.extend(tree.warnings.iter().cloned());
    Examination {
        tree,
        analysis,
        inventory,
        findings,
        warnings,
    }
}
