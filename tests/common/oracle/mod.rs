//! Reference oracle for the merged layer tree, shared by `tests/image/oracle.rs` (hand-written
//! and seeded random stacks) and `tests/image/proptest_stacks.rs` (proptest strategies); both
//! draw random stacks from the one generator in `random.rs`. `archive.rs` applies the same
//! reference to a whole `docker save` archive, for the findings on the real fixture.
//!
//! For each image, pyslim's merged tree and its figures must equal what you get by
//! really extracting the layer tars in order into a temporary directory, the way Docker's layer
//! applier (moby pkg/archive UnpackLayer) does, with OCI whiteouts applied:
//!
//! * per layer, whiteout markers first (the OCI spec: they only apply to lower layers), in tar
//!   order: the marker's directory is created if missing (as Docker creates the parent of every
//!   entry), `.wh.NAME` removes NAME recursively, `.wh..wh..opq` removes every child of its dir;
//! * then the other entries in tar order: missing parents are created; whatever is at the path
//!   is removed unless both it and the entry are directories; files are written, symlinks made
//!   (never followed), hardlinks made with `link(2)` to the target under the root.
//!
//! The extracted root is then walked without following links. The reference refuses layer
//! stacks where real extractors disagree with one another or fail (a path below a file or a
//! symlink, a hardlink to something that is not a file, markers whose result depends on their
//! tar order): those are outside what an oracle can decide.
#![allow(dead_code)]

mod archive;
mod compare;
pub mod random;
mod reference;

// A test binary that never checks a case leaves these unused.
#[allow(unused_imports)]
pub use archive::*;
#[allow(unused_imports)]
pub use compare::*;
pub use reference::*;
