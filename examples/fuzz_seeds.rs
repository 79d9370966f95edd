//! Writes the seed corpus of every fuzz target to `fuzz/corpus/<target>/` (or the directory
//! given), from `pyslim::fuzzing::seeds`. Run before `cargo fuzz cmin` when the seeds change.

use std::path::PathBuf;

use pyslim::fuzzing::{seeds, Target};

fn main() -> std::io::Result<()> {
    let root = std::env::args()
        .nth(1)
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("fuzz/corpus"));
    for target in Target::ALL {
        let dir = root.join(target.name());
        std::fs::create_dir_all(&dir)?;
        let seeds = seeds(target)?;
        for (name, bytes) in &seeds {
            std::fs::write(dir.join(name), bytes)?;
        }
        println!(
            "{}: {} seeds in {}",
            target.name(),
            seeds.len(),
            dir.display()
        );
    }
    Ok(())
}
