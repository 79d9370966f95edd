//! `compare --explore` as a new user tries it: the table of figures scrolls (it was cut at
//! the pane's height), and the file list says which column is which image.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use pyslim::core::compare::Comparison;
use pyslim::core::image::SourceKind;
use pyslim::source::writer::{ImageSpec, LayerSpec, SpecEntry};
use pyslim::tui::compare::{CompareApp, ComparePane};

const MIB: u64 = 1 << 20;
const SP: &str = "usr/local/lib/python3.12/site-packages";

fn image(tag: &str, build_tools: bool) -> ImageSpec {
    let base = vec![
        SpecEntry::file("usr/local/bin/python3.12", 6 * MIB),
        SpecEntry::file("usr/lib/x86_64-linux-gnu/libc.so.6", 2 * MIB),
        SpecEntry::file("usr/local/lib/python3.12/test/test_os.py", 12 * MIB),
        SpecEntry::text(
            "etc/os-release",
            "PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\n",
        ),
        SpecEntry::file("bin/sh", 120_000),
    ];
    let mut deps = vec![
        SpecEntry::file(&format!("{SP}/numpy/core/_multiarray_umath.so"), 35 * MIB),
        SpecEntry::file(
            &format!("{SP}/numpy/core/tests/test_multiarray.py"),
            400_000,
        ),
        SpecEntry::file(&format!("{SP}/flask/app.py"), 60_000),
    ];
    if build_tools {
        deps.push(SpecEntry::file(
            "usr/lib/gcc/x86_64-linux-gnu/12/cc1",
            30 * MIB,
        ));
        deps.push(SpecEntry::file("root/.cache/pip/http/a.body", 3 * MIB));
    }
    ImageSpec::new(
        tag,
        vec![
            LayerSpec::new("ADD file:1d3e in /", base),
            LayerSpec::new("RUN pip install numpy flask", deps),
        ],
    )
}

/// A fat and a slim build of one app, compared.
pub fn comparison() -> Comparison {
    let rules = pyslim::core::findings::RuleSet::builtin().unwrap();
    let examined: Vec<_> = [
        image("shop/api:latest", true),
        image("shop/api:slim", false),
    ]
    .iter()
    .map(|spec| {
        let image = pyslim::demo::image_from_spec(spec, SourceKind::Demo).unwrap();
        let ex = pyslim::core::examine(&image, Some(&rules), 20);
        (image, ex)
    })
    .collect();
    let pairs: Vec<_> = examined.iter().map(|(i, e)| (i, e)).collect();
    pyslim::core::compare::compare(&pairs, usize::MAX)
}

fn draw(app: &mut CompareApp, w: u16, h: u16) -> String {
    super::common::render_text(w, h, |f, theme| {
        app.resize(f.area());
        f.render_widget(pyslim::tui::view::CompareView { app, theme }, f.area())
    })
}

fn key(app: &mut CompareApp, code: KeyCode) {
    app.handle_key(KeyEvent::new(code, KeyModifiers::NONE));
}

#[test]
fn the_table_scrolls_with_its_header_pinned() {
    let mut app = CompareApp::new(comparison());
    let s = draw(&mut app, 80, 24);
    let rows = pyslim::report::compare::variant_rows(app.comparison());
    let last = &rows.last().unwrap().0;
    assert!(
        !s.contains(last.as_str()),
        "the last row ({last}) fits already:\n{s}"
    );
    // Tab gives the table the keys; down scrolls it to its end, the names stay on top.
    key(&mut app, KeyCode::Tab);
    assert_eq!(app.focus(), ComparePane::Table);
    key(&mut app, KeyCode::End);
    let s = draw(&mut app, 80, 24);
    assert!(s.contains(last.as_str()), "{last} not shown:\n{s}");
    let names = s.lines().nth(1).unwrap_or_default();
    assert!(
        names.contains("api:latest") && names.contains("api:slim"),
        "{s}"
    );
    super::snapshot("compare_table_scrolled_80x24", s);
    // Back up, and back to the files: the file cursor did not move meanwhile.
    key(&mut app, KeyCode::Home);
    assert_eq!(app.table_offset(), 0);
    key(&mut app, KeyCode::Tab);
    assert_eq!((app.focus(), app.cursor()), (ComparePane::Files, 0));
}

#[test]
fn the_file_list_names_each_images_column() {
    let mut app = CompareApp::new(comparison());
    let s = draw(&mut app, 80, 24);
    let files = s
        .lines()
        .skip_while(|l| !l.contains("Files that differ"))
        .nth(1)
        .unwrap_or_default();
    assert!(files.contains("path"), "{s}");
    assert!(
        files.contains("api:latest") && files.contains("api:slim"),
        "{s}"
    );
    // The header stays over the filter's matches too.
    key(&mut app, KeyCode::Char('/'));
    for c in "cc1".chars() {
        key(&mut app, KeyCode::Char(c));
    }
    let s = draw(&mut app, 80, 24);
    super::snapshot("compare_files_header_80x24", s);
}
