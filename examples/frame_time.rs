//! Times the explorer on a 200,000-file image: one frame (160×48, TestBackend), re-flattening
//! the tree with everything expanded, switching layers, and fuzzy search queries.
//!
//!     cargo run --release --example frame_time
use std::time::Instant;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::backend::TestBackend;
use ratatui::Terminal;

use pyslim::core::examine;
use pyslim::core::findings::RuleSet;
use pyslim::core::image::SourceKind;
use pyslim::source::writer::{ImageSpec, LayerSpec, SpecEntry};
use pyslim::tui::app::App;
use pyslim::tui::keymap::Keymap;
use pyslim::tui::theme::Theme;
use pyslim::tui::{action::Action, view};

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

fn main() {
    // 8 layers × 25,000 files in a Python-shaped tree.
    let layers: Vec<LayerSpec> = (0..8)
        .map(|l| {
            let entries = (0..25_000)
                .map(|i| {
                    SpecEntry::file(
                        &format!(
                            "opt/venv/lib/python3.12/site-packages/pkg{l}_{}/sub{}/module_{i}.py",
                            i % 97,
                            i % 13
                        ),
                        1_000 + (i as u64 * 37) % 90_000,
                    )
                })
                .collect();
            LayerSpec::new(&format!("RUN pip install batch-{l}"), entries)
        })
        .collect();
    let spec = ImageSpec::new("bench/200k:latest", layers);
    let t = Instant::now();
    let image = pyslim::demo::image_from_spec(&spec, SourceKind::Demo).expect("image");
    let ex = examine(&image, Some(&RuleSet::builtin().expect("rules")), 20);
    println!(
        "{} paths; model + findings in {:.0} ms",
        ex.tree.nodes.len() - 1,
        t.elapsed().as_secs_f64() * 1e3
    );
    let mut app = App::new(image, ex, Keymap::load(None).expect("keymap"));
    let theme = Theme::load("dark", false).expect("theme");
    let mut terminal = Terminal::new(TestBackend::new(160, 48)).expect("backend");

    let t = Instant::now();
    app.update(Action::ExpandAll);
    println!(
        "expand all: {} rows in {:.1} ms",
        app.rows().len(),
        t.elapsed().as_secs_f64() * 1e3
    );
    app.update(Action::NextPane);
    app.update(Action::PageDown);

    let frames: Vec<f64> = (0..50)
        .map(|_| {
            let t = Instant::now();
            terminal
                .draw(|f| view::draw(f, &app, &theme))
                .expect("draw");
            t.elapsed().as_secs_f64() * 1e3
        })
        .collect();
    println!(
        "frame (160×48): median {:.2} ms, worst {:.2} ms",
        median(frames.clone()),
        frames.iter().cloned().fold(0.0, f64::max)
    );

    let t = Instant::now();
    app.update(Action::PrevLayer);
    println!(
        "switch layer (recompute view and rows): {:.1} ms",
        t.elapsed().as_secs_f64() * 1e3
    );

    app.update(Action::Search);
    for q in ["m", "mod", "module_2", "pkg3sub7module_99"] {
        let t = Instant::now();
        for c in q.chars() {
            app.handle_key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE));
        }
        let per_key = t.elapsed().as_secs_f64() * 1e3 / q.len() as f64;
        println!(
            "search {q:?}: {} results, {:.1} ms per keystroke",
            app.search().results.len(),
            per_key
        );
        for _ in q.chars() {
            app.handle_key(KeyEvent::new(KeyCode::Backspace, KeyModifiers::NONE));
        }
    }
}
