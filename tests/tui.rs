//! The explorer without a terminal: keys drive the app, views are drawn on ratatui's
//! TestBackend and compared with snapshots (tests/snapshots/), at 80×24 and 160×48.

mod common;
#[path = "tui/compare_view.rs"]
mod compare_view;
#[path = "tui/filters.rs"]
mod filters;
#[path = "tui/keys.rs"]
mod keys;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use pyslim::core::examine;
use pyslim::core::findings::RuleSet;
use pyslim::tui::app::{App, Mode, Pane};
use pyslim::tui::keymap::Keymap;
use pyslim::tui::treeview::{Filter, Scope};
use pyslim::tui::view;

fn demo_app() -> App {
    let image = pyslim::demo::image().unwrap();
    let ex = examine(&image, Some(&RuleSet::builtin().unwrap()), 20);
    App::new(image, ex, Keymap::load(None).unwrap())
}

fn press(app: &mut App, keys: &str) {
    for c in keys.chars() {
        app.handle_key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE));
    }
}

fn key(app: &mut App, code: KeyCode) {
    app.handle_key(KeyEvent::new(code, KeyModifiers::NONE));
}

/// The screen as text, one line per row.
fn screen(app: &mut App, w: u16, h: u16) -> String {
    common::render_text(w, h, |f, theme| {
        app.resize(f.area());
        view::draw(f, app, theme);
    })
}

/// Every module's snapshots land in tests/snapshots as `tui__NAME.snap`.
fn snapshot(name: &str, screen: String) {
    insta::assert_snapshot!(name.to_owned(), screen);
}

fn both_sizes(name: &str, app: &mut App) {
    insta::assert_snapshot!(format!("{name}_80x24"), screen(app, 80, 24));
    insta::assert_snapshot!(format!("{name}_160x48"), screen(app, 160, 48));
}

#[test]
fn opens_on_the_last_layer_with_layers_in_focus() {
    let mut app = demo_app();
    assert_eq!((app.focus(), app.layer()), (Pane::Layers, 5));
    both_sizes("main", &mut app);
}

#[test]
fn tree_expands_and_shows_changes_findings_and_history() {
    let mut app = demo_app();
    key(&mut app, KeyCode::Tab);
    assert_eq!(app.focus(), Pane::Tree);
    // usr is the biggest directory: open it, then its biggest child.
    press(&mut app, "lj l");
    let path = app.examination().tree.path(app.selected_node().unwrap());
    assert_eq!(path, "usr/local");
    both_sizes("tree_expanded", &mut app);
}

#[test]
fn layers_change_the_tree_and_scope_shows_one_layer() {
    let mut app = demo_app();
    key(&mut app, KeyCode::Up);
    key(&mut app, KeyCode::Up);
    assert_eq!(app.layer(), 3);
    press(&mut app, "c");
    assert_eq!(app.scope(), Scope::LayerOnly);
    // Layer 3 is `pip install`: only root/ and usr/ changed in it.
    let top: Vec<String> = app
        .rows()
        .iter()
        .filter(|r| r.depth == 0)
        .map(|r| app.examination().tree.path(r.node))
        .collect();
    assert_eq!(top, vec!["usr", "root"]);
    both_sizes("layer_only", &mut app);
}

#[test]
fn filters_narrow_the_tree_and_toggle_off() {
    let mut app = demo_app();
    press(&mut app, "]"); // already last: stays
    assert_eq!(app.layer(), 5);
    press(&mut app, "x"); // removed in layer 5
    assert_eq!(app.filter(), Filter::Removed);
    let shown: Vec<String> = app
        .rows()
        .iter()
        .map(|r| app.examination().tree.path(r.node))
        .collect();
    assert!(shown.contains(&"root/.ssh/id_rsa".to_owned()), "{shown:?}");
    assert!(
        shown
            .iter()
            .all(|p| p.starts_with("root") || p.starts_with("var")),
        "{shown:?}"
    );
    both_sizes("filter_removed", &mut app);
    press(&mut app, "x");
    assert_eq!(app.filter(), Filter::All);
    press(&mut app, "b");
    // A filter opens directories only while the tree stays short; `e` opens all it keeps.
    press(&mut app, "e");
    assert!(app
        .rows()
        .iter()
        .any(|r| app.examination().tree.path(r.node).ends_with("cc1plus")));
    press(&mut app, "z");
    assert_eq!(app.min_size(), 1024);
}

#[test]
fn findings_pane_explains_and_jumps_to_the_path() {
    let mut app = demo_app();
    key(&mut app, KeyCode::BackTab);
    assert_eq!(app.focus(), Pane::Findings);
    press(&mut app, "j"); // the compilers finding
    both_sizes("finding", &mut app);
    key(&mut app, KeyCode::Enter);
    assert_eq!(app.focus(), Pane::Tree);
    assert_eq!(
        app.examination().tree.path(app.selected_node().unwrap()),
        "usr/lib/gcc/x86_64-linux-gnu/12/cc1plus"
    );
}

#[test]
fn fuzzy_search_finds_paths_as_you_type() {
    let mut app = demo_app();
    press(&mut app, "/");
    assert_eq!(app.mode(), Mode::Search);
    press(&mut app, "idrsa");
    assert_eq!(
        app.search().results.first().map(|r| r.1.as_str()),
        Some("root/.ssh/id_rsa")
    );
    both_sizes("search", &mut app);
    key(&mut app, KeyCode::Enter);
    assert_eq!(app.mode(), Mode::Normal);
    // A removed path opens in the layer that removed it.
    assert_eq!(app.layer(), 5);
    assert_eq!(
        app.examination().tree.path(app.selected_node().unwrap()),
        "root/.ssh/id_rsa"
    );
}

#[test]
fn help_lists_every_key_and_any_key_closes_it() {
    let mut app = demo_app();
    press(&mut app, "?");
    assert_eq!(app.mode(), Mode::Help);
    both_sizes("help", &mut app);
    press(&mut app, "j");
    assert_eq!(app.mode(), Mode::Normal);
    press(&mut app, "q");
    assert!(app.quits());
}

#[test]
fn mouse_clicks_focus_panes_and_pick_rows() {
    let mut app = demo_app();
    let full = ratatui::layout::Rect::new(0, 0, 160, 48);
    let a = view::areas(full, &app);
    // The third finding row.
    let (pane, row) = view::hit(full, &app, a.findings.x + 5, a.findings.y + 3).unwrap();
    assert_eq!((pane, row), (Pane::Findings, Some(2)));
    app.click(pane, row);
    assert_eq!((app.focus(), app.finding_cursor()), (Pane::Findings, 2));
    // Layer 1's row (below the column header).
    let (pane, row) = view::hit(full, &app, a.layers.x + 5, a.layers.y + 3).unwrap();
    app.click(pane, row);
    assert_eq!((app.focus(), app.layer()), (Pane::Layers, 1));
    // A click on a tree row selects it; a click on the selected row opens it.
    let (pane, row) = view::hit(full, &app, a.tree.x + 5, a.tree.y + 2).unwrap();
    assert_eq!(row, Some(1));
    app.click(pane, row);
    assert_eq!((app.focus(), app.tree_cursor()), (Pane::Tree, 1));
    assert!(!app.is_open(app.selected_node().unwrap()));
    app.click(pane, row);
    assert!(app.is_open(app.selected_node().unwrap()));
    app.scroll(Pane::Tree, true);
    assert_eq!(app.tree_cursor(), 2);
    assert!(
        view::hit(full, &app, 0, 0).is_none(),
        "the header is not a pane"
    );
}

#[test]
fn loading_shows_layers_at_once_and_marks_each_as_read() {
    let layers = vec![
        (
            "ADD file:base in /".to_owned(),
            Some((9_301usize, 169_000_000u64)),
        ),
        ("RUN apt-get install -y build-essential".to_owned(), None),
        (
            "RUN pip install numpy".to_owned(),
            Some((8_546, 219_000_000)),
        ),
    ];
    let files = vec![
        ("usr".to_owned(), 300_000_000u64, 12_000u64),
        ("opt".to_owned(), 88_000_000, 5_000),
    ];
    let text = common::render_text(120, 6, |f, theme| {
        pyslim::tui::draw_loading(f, theme, "myapp:latest", 1.25, &layers, &files)
    });
    insta::assert_snapshot!("loading", text);
}

#[test]
fn layers_pane_and_tree_number_the_layer_alike() {
    // One numbering: the 0-based index the rows show as "#3", in both pane titles.
    let mut app = demo_app();
    key(&mut app, KeyCode::Up);
    key(&mut app, KeyCode::Up);
    assert_eq!(app.layer(), 3);
    let s = screen(&mut app, 160, 48);
    let top = s.lines().find(|l| l.contains("Files")).unwrap_or_default();
    assert!(top.contains("Layers #3 of 0–5"), "{top}");
    assert!(top.contains("layer 3"), "{top}");
    assert!(!top.contains("4/6"), "{top}");
}

#[test]
fn help_fits_every_key_at_80x24() {
    // At 80x24 a single column of keys ran off the bottom: `/`, `t`, `z` and `s` were hidden.
    let mut app = demo_app();
    press(&mut app, "?");
    let s = screen(&mut app, 80, 24);
    for (key, what) in [
        ("/ C-f", "fuzzy search"),
        ("t", "guided trimming"),
        ("z", "cycle the minimum"),
        ("s", "sort by size"),
        ("q C-c", "quit"),
    ] {
        assert!(
            s.lines().any(|l| l.contains(&format!("{key}  {what}"))),
            "{key} ({what}) not on the help screen:\n{s}"
        );
    }
}

#[test]
fn header_at_80_columns_keeps_whole_figures() {
    // The full header is ~130 columns; at 80 it was cut mid-figure. Lower-ranked figures go.
    let mut app = demo_app();
    let s = screen(&mut app, 80, 24);
    let top = s.lines().next().unwrap_or_default();
    assert!(top.contains("556.82 MiB"), "{top}");
    assert!(top.contains("reclaimable 425.87 MiB"), "{top}");
    assert!(!top.trim_end().ends_with('·'), "{top}");
    let wide = screen(&mut app, 160, 48);
    let top = wide.lines().next().unwrap_or_default();
    assert!(top.contains("efficiency 95.0% · reclaimable"), "{top}");
}

#[test]
fn trim_summary_keeps_the_prefix_and_keys_in_view_at_80x24() {
    // 17 decisions filled the 80x24 popup: the prefix, the write's message and the keys ran
    // off its bottom. The decisions give up rows instead.
    let mut app = demo_app();
    press(&mut app, "tyf");
    let s = screen(&mut app, 80, 24);
    assert!(s.contains("prefix pyslim-trim▏"), "{s}");
    assert!(s.contains("Enter write"), "{s}");
    assert!(s.contains("✓ 110.15 MiB  Compilers"), "{s}");
    assert!(s.contains("   … 7 more"), "{s}");
}
