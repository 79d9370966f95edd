//! The explorer's search as a user types it, on a real-shaped tree (paths and sizes copied
//! from the real-python fixture image: tests/fixtures/search-image.toml), so it always runs.
//! Ranked results are snapshots (tests/snapshots/search__*.snap); the overlay is drawn on
//! ratatui's TestBackend.

mod common;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use pyslim::core::examine;
use pyslim::core::findings::RuleSet;
use pyslim::core::image::SourceKind;
use pyslim::demo::{image_from_spec, parse_spec};
use pyslim::source::writer::{ImageSpec, LayerSpec, SpecEntry};
use pyslim::tui::app::{App, Mode};
use pyslim::tui::keymap::Keymap;
use pyslim::tui::search::PathIndex;
use pyslim::tui::view;

fn app_of(spec: &ImageSpec) -> App {
    let image = image_from_spec(spec, SourceKind::Demo).unwrap();
    let ex = examine(&image, Some(&RuleSet::builtin().unwrap()), 20);
    App::new(image, ex, Keymap::load(None).unwrap())
}

fn real_shaped() -> App {
    app_of(&parse_spec(include_str!("fixtures/search-image.toml")).unwrap())
}

fn type_text(app: &mut App, text: &str) {
    for c in text.chars() {
        app.handle_key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE));
    }
}

fn ctrl(app: &mut App, c: char) {
    app.handle_key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::CONTROL));
}

fn overlay(app: &mut App, w: u16, h: u16) -> String {
    common::render_text(w, h, |f, theme| view::draw(f, app, theme))
}

/// Types `query` key by key (so each keystroke narrows the last result, as a user's do) and
/// lists the match count and the best rows with their sizes.
fn listing(app: &mut App, query: &str, rows: usize) -> String {
    ctrl(app, 'u');
    type_text(app, query);
    // Typed key by key or searched at once: the same answer.
    let mut fresh = PathIndex::build(&app.examination().tree);
    let once = fresh.search(query);
    assert_eq!(once.rows, app.search().results, "{query}");
    assert_eq!(once.total, app.search().total, "{query}");
    let mut out = format!("{query:?} → {} matches\n", app.search().total);
    for (id, path, _) in app.search().results.iter().take(rows) {
        let size = app.result_size(*id).map_or("-".into(), view::size);
        out.push_str(&format!("  {size:>10}  /{path}\n"));
    }
    out
}

#[test]
fn fzf_queries_rank_like_fzf() {
    let mut app = real_shaped();
    type_text(&mut app, "/");
    assert_eq!(app.mode(), Mode::Search);
    let mut all = String::new();
    for q in [
        // Space separates terms that must all match; contiguous word matches first.
        "numpy core multiarray",
        // One contiguous run in the file name beats `lib/python3.11/m1.py`.
        "libpy",
        "'multiarray .pyi$",
        "^/usr/lib/python3.11/m .py$",
        "multiarray !test !pyc$",
        "numpy !'cre",
        "^usr/share/lintian/overrides/libpython3.11$",
        // Smart case: an upper-case letter makes the term case-sensitive.
        "Numpy",
    ] {
        all.push_str(&listing(&mut app, q, 6));
    }
    insta::assert_snapshot!("ranked", all);
    // The two cases the issue reported, spelled out.
    let first = |app: &mut App, q: &str| {
        listing(app, q, 1);
        app.search().results.first().map(|r| r.1.clone())
    };
    assert_eq!(
        first(&mut app, "numpy core multiarray").as_deref(),
        Some("opt/venv/lib/python3.11/site-packages/numpy/core/multiarray.py")
    );
    let libpy = first(&mut app, "libpy").unwrap_or_default();
    assert!(
        libpy.rsplit('/').next().unwrap().starts_with("libpython"),
        "{libpy}"
    );
}

#[test]
fn bounded_terms_and_bars_rank_like_fzf() {
    let mut app = real_shaped();
    type_text(&mut app, "/");
    let mut all = String::new();
    for q in [
        // `'word'`: no letter or digit beside it; `_` and `/` are boundaries, as in fzf, so
        // `numpy/_core/` counts and `core.py`'s `score` neighbours would not.
        "'core' multiarray",
        "'multiarray'",
        // `libpython3.11.so` holds `'libpython3'` (a `.` follows) but not `'python3'` (a
        // `b` comes before it); `'python'` is never bounded in these paths.
        "'libpython3' ^usr/lib/x86",
        "'python3' ^usr/lib/x86",
        "'python'",
        // `|` joins terms into one set, fzf's `^core go$ | rb$ | py$`.
        "^usr/lib/python3.11/c py$ | .a$",
        "numpy .pyi$ | .so$ !test",
        "libpython | 'umath' !^usr",
        // A bar with nothing after it does not change the query yet.
        "'multiarray .pyi$ |",
    ] {
        all.push_str(&listing(&mut app, q, 8));
    }
    insta::assert_snapshot!("bounded_and_or", all);
}

/// The index (whole-text passes, the matches of earlier queries kept) finds what the
/// matcher finds path by path, ranked the same, whatever keys led to the query: typed,
/// backspaced, retyped.
#[test]
fn every_keystroke_finds_what_a_path_by_path_search_finds() {
    use pyslim::core::path_match::{rank, Matcher, Query};
    let mut spec = parse_spec(include_str!("fixtures/search-image.toml")).unwrap();
    // Paths where byte offsets, case and overlaps matter.
    for p in [
        "srv/Ünïcode/Straße.py",
        "srv/STRASSE/Readme.MD",
        "srv/a.a.a/xa.a.a",
        "srv/aaa/aaaa.aa",
        "srv/core_core/score.core",
    ] {
        spec.layers[0].entries.push(SpecEntry::file(p, 1));
    }
    let image = image_from_spec(&spec, SourceKind::Demo).unwrap();
    let tree = pyslim::core::tree::Tree::build(&image.layers);
    let paths: Vec<String> = (1..tree.nodes.len() as u32)
        .map(|id| tree.path(id))
        .collect();
    let by_path = |query: &str| -> (usize, Vec<String>) {
        let query = Query::parse(query);
        if query.is_empty() {
            // Nothing to search for (`'` alone): the search shows nothing.
            return (0, Vec::new());
        }
        let matcher = Matcher::new(query);
        let mut scored: Vec<_> = paths
            .iter()
            .filter_map(|p| matcher.score_path(p).map(|s| (s, p.as_str())))
            .collect();
        rank(&mut scored, |p| p);
        let rows = scored.iter().map(|(_, p)| p.to_string()).collect();
        (scored.len(), rows)
    };
    let mut index = PathIndex::build(&tree);
    let mut keys = 0;
    for query in [
        "numpy core multiarray",
        "'a.a' | aa$",
        "'a.a'",
        "straße py",
        "Ünï code",
        "'ß' | 'md'",
        "'core' !'score'",
        "'aa' !^srv/aaa/aaaa.aa$",
        "Readme ^srv",
        "!'x | 'core'",
    ] {
        let chars: Vec<char> = query.chars().collect();
        // Typed, then backspaced to the first character, then typed again.
        let states = (1..=chars.len())
            .chain((1..chars.len()).rev())
            .chain(2..=chars.len());
        for n in states {
            let typed: String = chars[..n].iter().collect();
            let found = index.search(&typed);
            let (total, rows) = by_path(&typed);
            let got: Vec<String> = found.rows.iter().map(|r| r.1.clone()).collect();
            assert_eq!((found.total, &got), (total, &rows), "{typed:?}");
            keys += 1;
        }
    }
    assert!(keys > 100);
    // And the queries above do find something (so the comparison means something).
    for q in [
        "'a.a' | aa$",
        "straße py",
        "Ünï code",
        "'ß' | 'md'",
        "'core' !'score'",
    ] {
        assert!(by_path(q).0 > 0, "{q}");
    }
}

#[test]
fn ctrl_u_clears_and_ctrl_w_deletes_a_word() {
    let mut app = real_shaped();
    type_text(&mut app, "/numpy core multiarray");
    let three = app.search().total;
    ctrl(&mut app, 'w');
    assert_eq!(app.search().query, "numpy core ");
    assert!(
        app.search().total > three,
        "{} > {three}",
        app.search().total
    );
    ctrl(&mut app, 'w');
    ctrl(&mut app, 'w');
    assert_eq!(app.search().query, "");
    assert_eq!((app.search().total, app.search().results.len()), (0, 0));
    type_text(&mut app, "libpy");
    assert!(app.search().total > 0);
    ctrl(&mut app, 'u');
    assert_eq!(app.search().query, "");
    assert!(app.search().results.is_empty());
    assert_eq!(app.mode(), Mode::Search);
}

#[test]
fn the_overlay_shows_sizes_and_the_count() {
    let mut app = real_shaped();
    type_text(&mut app, "/numpy core multiarray");
    insta::assert_snapshot!("overlay_80x24", overlay(&mut app, 80, 24));
    insta::assert_snapshot!("overlay_160x48", overlay(&mut app, 160, 48));
    // A removed file shows the size it had.
    ctrl(&mut app, 'u');
    type_text(&mut app, "'libpython3.11.a");
    let screen = overlay(&mut app, 160, 48);
    assert!(
        screen.contains(
            "/usr/lib/python3.11/config-3.11-x86_64-linux-gnu/libpython3.11.a  (removed)"
        ) && screen.contains("12.66 MiB"),
        "{screen}"
    );
}

#[test]
fn every_match_is_counted_beyond_the_rows_kept() {
    let entries = (1..=1200)
        .map(|n| {
            SpecEntry::file(
                &format!(
                    "opt/venv/lib/python3.11/site-packages/botocore/data/svc{n}/service-2.json"
                ),
                1000 + n,
            )
        })
        .collect();
    let spec = ImageSpec::new(
        "pyslim-test/search:many",
        vec![LayerSpec::new("RUN pip install boto3", entries)],
    );
    let mut app = app_of(&spec);
    type_text(&mut app, "/service json");
    assert_eq!(app.search().total, 1200);
    assert_eq!(app.search().results.len(), pyslim::tui::search::MAX_RESULTS);
    let screen = overlay(&mut app, 80, 24);
    assert!(
        screen.contains("Search · 1200 matches · best 500 listed"),
        "{screen}"
    );
    // Shorter paths first among equal scores: svc1..svc9 before svc10.
    assert!(app.search().results[0].1.contains("/svc1/"));
}

#[test]
fn compare_filters_with_the_same_query_syntax_and_keys() {
    use pyslim::tui::compare::CompareApp;
    // The real-shaped image against the same image with numpy's compiled core removed.
    let full = parse_spec(include_str!("fixtures/search-image.toml")).unwrap();
    let mut slim = full.clone();
    slim.tag = "pyslim-test/search:slim".into();
    slim.layers[0]
        .entries
        .retain(|e| !String::from_utf8_lossy(&e.path).ends_with(".so"));
    let images: Vec<_> = [full, slim]
        .iter()
        .map(|s| {
            let image = image_from_spec(s, SourceKind::Demo).unwrap();
            let ex = examine(&image, Some(&RuleSet::builtin().unwrap()), 20);
            (image, ex)
        })
        .collect();
    let pairs: Vec<_> = images.iter().map(|(i, e)| (i, e)).collect();
    let mut app = CompareApp::new(pyslim::core::compare::compare(&pairs, usize::MAX));
    let key = |app: &mut CompareApp, code: KeyCode, m: KeyModifiers| {
        app.handle_key(KeyEvent::new(code, m))
    };
    key(&mut app, KeyCode::Char('/'), KeyModifiers::NONE);
    for c in "numpy core multiarray !tests".chars() {
        key(&mut app, KeyCode::Char(c), KeyModifiers::NONE);
    }
    let shown: Vec<&str> = app
        .shown()
        .iter()
        .map(|&i| app.comparison().paths[i].path.as_str())
        .collect();
    assert_eq!(
        shown,
        ["opt/venv/lib/python3.11/site-packages/numpy/core/_multiarray_umath.cpython-311-x86_64-linux-gnu.so"],
    );
    key(&mut app, KeyCode::Char('w'), KeyModifiers::CONTROL);
    assert_eq!(app.query(), "numpy core multiarray ");
    assert_eq!(app.shown().len(), 2, "the tests .so is back");
    key(&mut app, KeyCode::Char('u'), KeyModifiers::CONTROL);
    assert_eq!(app.query(), "");
    assert_eq!(app.shown().len(), app.comparison().paths.len());
}
