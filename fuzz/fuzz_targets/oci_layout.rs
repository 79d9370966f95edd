//! Fuzz target `oci_layout`: the harness is `pyslim::fuzzing`, shared with the regression test
//! `tests/image/fuzz_regressions.rs` that replays this target's corpus and crashes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pyslim::fuzzing::{check, Target};

fuzz_target!(|data: &[u8]| check(Target::OciLayout, data));
