//! Prints how long each stage of an analysis takes on one image: reading, tree, analysis,
//! inventory, findings. `cargo run --release --example stage_times -- IMAGE`
use std::time::Instant;

fn main() {
    let reference = std::env::args().nth(1).expect("usage: stage_times IMAGE");
    let t = Instant::now();
    let image = pyslim::open(&reference, &pyslim::OpenOptions::default()).expect("open");
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
