//! Dockerfiles: reading one (parse.rs), finding which instruction made which layer, and
//! writing edits back as a new text (rewrite.rs). Pure text in, text out.

pub mod parse;
pub mod rewrite;

pub use parse::{Dockerfile, Instruction};

use crate::core::image::{Image, Layer};

/// For each layer of the image, the final-stage instruction of `df` that made it, if any.
/// COPY and ADD layers are matched by position from the top, so each gets the number of
/// COPY/ADD layers above it.
pub fn layer_instructions(df: &Dockerfile, image: &Image) -> Vec<Option<usize>> {
    let is_copy = |l: &Layer| {
        let i = l.instruction();
        i.starts_with("COPY") || i.starts_with("ADD")
    };
    let mut copies_above = 0usize;
    let mut out = vec![None; image.layers.len()];
    for (n, layer) in image.layers.iter().enumerate().rev() {
        let copy = is_copy(layer);
        if let Some(hist) = layer.history.as_ref() {
            out[n] = df.instruction_for(hist, copy.then_some(copies_above));
        }
        if copy {
            copies_above += 1;
        }
    }
    out
}
