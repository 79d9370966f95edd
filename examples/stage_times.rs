//! Prints how long each stage of an analysis takes on one image: reading, tree, analysis,
//! inventory, findings. `cargo run --release --example stage_times -- IMAGE`
use std::time::Instant;

fn main() {
    let reference = std::env::args().nth(1).expect("usage: stage_times IMAGE");
    let t = Instant::now();
    let mut opts = pyslim::OpenOptions::default();
    opts.read.skip_contents = std::env::var("SKIP_CONTENTS").is_ok();
    let image = pyslim::open(&reference, &opts).expect("open");
    let captures: usize = image.layers.iter().map(|l| l.changes.captures.len()).sum();
    let captured_bytes: usize = image
        .layers
        .iter()
        .flat_map(|l| &l.changes.captures)
        .map(|(_, c)| match c {
            pyslim::core::content::Captured::Text(t) => t.len(),
            _ => 0,
        })
        .sum();
    println!("{captures} captures, {captured_bytes} bytes of text");
    let read = t.elapsed();
    let t = Instant::now();
    let tree = pyslim::Tree::build(&image.layers);
    let build = t.elapsed();
    let t = Instant::now();
    let _a = pyslim::analyze(&image, &tree, 20);
    let analysis = t.elapsed();
    let t = Instant::now();
    let inv = pyslim::core::inventory::build(&image, &tree);
    let inventory = t.elapsed();
    let rules = pyslim::core::findings::RuleSet::builtin().expect("rules");
    // FINDINGS_LOOPS=N repeats the findings, to profile them alone.
    let loops: usize = std::env::var("FINDINGS_LOOPS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1);
    for _ in 1..loops {
        let _ = pyslim::core::findings::evaluate(
            &pyslim::core::findings::Context {
                image: &image,
                tree: &tree,
                inventory: &inv,
            },
            &rules,
        );
    }
    let t = Instant::now();
    let f = pyslim::core::findings::evaluate(
        &pyslim::core::findings::Context {
            image: &image,
            tree: &tree,
            inventory: &inv,
        },
        &rules,
    );
    let findings = t.elapsed();
    println!("read {read:?}  tree {build:?}  analysis {analysis:?}  inventory {inventory:?}  findings {findings:?} ({} findings)", f.findings.len());
}
