//! The tree pane's filters, tried as a new user would on a real-shaped Python image: each
//! view's sizes are its own, `z` judges directories too, and the collapse keys work while a
//! filter is on.

use crossterm::event::KeyCode;

use pyslim::core::image::SourceKind;
use pyslim::source::writer::{ImageSpec, LayerSpec, SpecEntry};
use pyslim::tui::app::App;
use pyslim::tui::keymap::Keymap;
use pyslim::tui::treeview::Filter;

use super::{key, press, screen};

const MIB: u64 = 1 << 20;
const SP: &str = "usr/local/lib/python3.12/site-packages";

/// python:3.12 with build tools: CPython's 116 MiB test suite of files under 1 MiB each, apt
/// lists and a .deb cache a last layer removes (the .deb's 16 MiB stay in layer 1, wasted),
/// numpy, and an `os.py` pip's layer overwrote.
fn python_image() -> App {
    let mut base = vec![
        SpecEntry::file("usr/local/bin/python3.12", 6 * MIB),
        SpecEntry::file("usr/lib/x86_64-linux-gnu/libc.so.6", 2 * MIB),
        SpecEntry::file("usr/local/lib/python3.12/os.py", 40_000),
        SpecEntry::file("etc/os-release", 300),
    ];
    // 290 files of 400 KiB: 113 MiB, no file near 100 MiB.
    for i in 0..290 {
        base.push(SpecEntry::file(
            &format!("usr/local/lib/python3.12/test/test_{i:03}.py"),
            400 << 10,
        ));
    }
    let apt = vec![
        SpecEntry::file("var/lib/apt/lists/deb.debian.org_main_Packages", 30 * MIB),
        SpecEntry::file(
            "var/lib/apt/lists/deb.debian.org_updates_Packages",
            10 * MIB,
        ),
        SpecEntry::file("var/cache/apt/archives/gcc-12_amd64.deb", 16 * MIB),
        SpecEntry::file("usr/lib/gcc/x86_64-linux-gnu/12/cc1", 30 * MIB),
    ];
    let pip = vec![
        SpecEntry::file(&format!("{SP}/numpy/core/_multiarray_umath.so"), 35 * MIB),
        SpecEntry::file(&format!("{SP}/numpy.libs/libopenblas.so"), 25 * MIB),
        SpecEntry::file("usr/local/lib/python3.12/os.py", 41_000),
    ];
    let cleanup = vec![
        SpecEntry::whiteout("var/lib/apt/lists"),
        SpecEntry::whiteout("var/cache/apt/archives/gcc-12_amd64.deb"),
    ];
    let spec = ImageSpec::new(
        "shop/api:latest",
        vec![
            LayerSpec::new("ADD file:1d3e in /", base),
            LayerSpec::new(
                "RUN apt-get update && apt-get install -y build-essential",
                apt,
            ),
            LayerSpec::new("RUN pip install numpy", pip),
            LayerSpec::new(
                "RUN rm -rf /var/lib/apt/lists/* /var/cache/apt/archives/*.deb",
                cleanup,
            ),
        ],
    );
    let image = pyslim::demo::image_from_spec(&spec, SourceKind::Demo).unwrap();
    let rules = pyslim::core::findings::RuleSet::builtin().unwrap();
    let ex = pyslim::core::examine(&image, Some(&rules), 20);
    App::new(image, ex, Keymap::load(None).unwrap())
}

/// The tree pane's rows as "size path", as the pane shows them.
fn tree_rows(app: &App) -> Vec<String> {
    let tree = &app.examination().tree;
    app.rows()
        .iter()
        .map(|r| {
            format!(
                "{} {}",
                pyslim::tui::view::size(app.shown_bytes(r.node)),
                tree.path(r.node)
            )
        })
        .collect()
}

#[test]
fn min_size_keeps_a_directory_as_big_as_the_minimum() {
    // `z` four times is ≥ 100 MiB: no file is that big, but the test suite (113 MiB) is.
    let mut app = python_image();
    key(&mut app, KeyCode::Tab);
    press(&mut app, "zzzz");
    assert_eq!(app.min_size(), 100 * MIB);
    let rows = tree_rows(&app);
    assert!(
        rows.iter()
            .any(|r| r.ends_with(" usr/local/lib/python3.12/test")),
        "{rows:#?}"
    );
    assert!(rows.iter().all(|r| !r.contains("test_0")), "{rows:#?}");
    super::snapshot("filter_min_size_80x24", screen(&mut app, 80, 24));
}

#[test]
fn the_wasted_view_sizes_each_path_by_its_wasted_bytes() {
    let mut app = python_image();
    key(&mut app, KeyCode::Tab);
    press(&mut app, "w");
    assert_eq!(app.filter(), Filter::Wasted);
    let rows = tree_rows(&app);
    // The removed .deb wasted its 16 MiB (it showed "- 0 B"); the lists their 40 MiB; the
    // overwritten os.py its first copy. Directories add up what is wasted under them.
    for want in [
        "16 MiB var/cache/apt/archives/gcc-12_amd64.deb",
        "40 MiB var/lib/apt/lists",
        "56 MiB var",
        "39.06 KiB usr/local/lib/python3.12/os.py",
        "39.06 KiB usr",
    ] {
        assert!(rows.iter().any(|r| r == want), "{want} not in {rows:#?}");
    }
    super::snapshot("filter_wasted_80x24", screen(&mut app, 80, 24));
}

#[test]
fn the_removed_view_sizes_each_path_by_what_its_removal_took() {
    let mut app = python_image();
    key(&mut app, KeyCode::Tab);
    press(&mut app, "x");
    let rows = tree_rows(&app);
    for want in [
        "16 MiB var/cache/apt/archives/gcc-12_amd64.deb",
        "30 MiB var/lib/apt/lists/deb.debian.org_main_Packages",
        "40 MiB var/lib/apt/lists",
        "56 MiB var",
    ] {
        assert!(rows.iter().any(|r| r == want), "{want} not in {rows:#?}");
    }
    // The same in the layer's own view (`c`): what this layer removed, sized.
    press(&mut app, "c");
    assert_eq!(tree_rows(&app), rows);
    super::snapshot("filter_removed_layer_only_80x24", screen(&mut app, 80, 24));
}

#[test]
fn collapse_and_expand_work_while_a_filter_is_on() {
    let mut app = python_image();
    key(&mut app, KeyCode::Tab);
    press(&mut app, "x");
    // The filter opens the way to what it keeps…
    let open = tree_rows(&app);
    assert_eq!(open.len(), 10, "{open:#?}");
    // …and the collapse key closes it (it did nothing: every directory stayed open).
    press(&mut app, "g");
    assert_eq!(open[0], "56 MiB var");
    press(&mut app, "jh");
    let lib_closed = vec![
        "56 MiB var",
        "40 MiB var/lib",
        "16 MiB var/cache",
        "16 MiB var/cache/apt",
        "16 MiB var/cache/apt/archives",
        "16 MiB var/cache/apt/archives/gcc-12_amd64.deb",
    ];
    assert_eq!(tree_rows(&app), lib_closed);
    press(&mut app, "kh");
    assert_eq!(tree_rows(&app), vec!["56 MiB var"]);
    // Opening var again shows its directories as the user left them.
    press(&mut app, "l");
    assert_eq!(tree_rows(&app), lib_closed);
    press(&mut app, "e");
    assert_eq!(
        tree_rows(&app),
        open,
        "expand-all opens everything the filter keeps"
    );
    press(&mut app, "E");
    assert_eq!(app.rows().len(), 1);
    // Clearing the filter gives back the tree as the user had it: closed.
    key(&mut app, KeyCode::Esc);
    assert_eq!(app.filter(), Filter::All);
    assert!(app.rows().iter().all(|r| r.depth == 0));
}
