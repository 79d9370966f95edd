//! Every screen's keys come from its own keymap section: a user file that rebinds an action
//! in a section changes that action there, and nothing else.

use std::sync::mpsc::channel;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use pyslim::tui::app::{App, Effect, ExplorerOptions, Mode};
use pyslim::tui::compare::{CompareApp, ComparePane};
use pyslim::tui::event::Event;
use pyslim::tui::keymap::Keymap;
use pyslim::tui::theme::Theme;

use super::compare_view::comparison;

/// A user's keymap: one action rebound in each section, the old flat form for the explorer.
const USER_KEYS: &str = r#"
down = ["n"]
[loading]
quit = ["Q"]
[search]
close = ["ctrl-g"]
[trim]
accept = ["Y"]
[trim-finish]
write = ["ctrl-s"]
[compare]
next-pane = ["v"]
[compare-search]
keep = ["ctrl-j"]
"#;

fn user_keymap() -> Keymap {
    Keymap::load(Some(("keymap.toml", USER_KEYS))).unwrap()
}

fn ch(c: char) -> KeyEvent {
    KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE)
}

fn ctrl(c: char) -> KeyEvent {
    KeyEvent::new(KeyCode::Char(c), KeyModifiers::CONTROL)
}

fn code(c: KeyCode) -> KeyEvent {
    KeyEvent::new(c, KeyModifiers::NONE)
}

fn demo_app(keymap: Keymap) -> App {
    let image = pyslim::demo::image().unwrap();
    let rules = pyslim::core::findings::RuleSet::builtin().unwrap();
    let ex = pyslim::core::examine(&image, Some(&rules), 20);
    App::new(image, ex, keymap)
}

#[test]
fn a_rebound_explorer_key_moves_and_the_old_one_does_nothing() {
    let mut app = demo_app(user_keymap());
    app.handle_key(code(KeyCode::Tab));
    app.handle_key(ch('j'));
    assert_eq!(app.tree_cursor(), 0, "j is no longer down");
    app.handle_key(ch('n'));
    assert_eq!(app.tree_cursor(), 1);
}

#[test]
fn a_rebound_search_key_closes_the_search_and_the_old_one_no_longer_does() {
    let mut app = demo_app(user_keymap());
    app.handle_key(ch('/'));
    assert_eq!(app.mode(), Mode::Search);
    app.handle_key(code(KeyCode::Esc));
    assert_eq!(app.mode(), Mode::Search, "Esc is no longer close");
    // The other search keys are still the built-in ones.
    for c in "idrsa".chars() {
        app.handle_key(ch(c));
    }
    app.handle_key(ctrl('w'));
    assert_eq!(app.search().query, "");
    app.handle_key(ctrl('g'));
    assert_eq!(app.mode(), Mode::Normal);
}

#[test]
fn rebound_trim_keys_accept_and_write_and_the_old_ones_type_or_do_nothing() {
    let mut app = demo_app(user_keymap());
    app.handle_key(ch('t'));
    assert_eq!(app.mode(), Mode::Trim);
    app.handle_key(ch('y'));
    let decided = |app: &App| {
        app.trim()
            .unwrap()
            .session
            .decisions
            .iter()
            .filter(|d| d.is_some())
            .count()
    };
    assert_eq!(decided(&app), 0, "y is no longer accept");
    app.handle_key(KeyEvent::new(KeyCode::Char('Y'), KeyModifiers::SHIFT));
    assert_eq!(decided(&app), 1);
    app.handle_key(ch('f'));
    assert!(app.trim().unwrap().finishing);
    app.handle_key(code(KeyCode::Enter));
    assert!(app.take_effect().is_none(), "Enter is no longer write");
    app.handle_key(ctrl('s'));
    let Some(Effect::WriteTrim(_, prefix)) = app.take_effect() else {
        panic!("the rebound key did not write");
    };
    assert_eq!(prefix, "pyslim-trim");
}

#[test]
fn rebound_compare_keys_switch_panes_and_keep_the_filter() {
    let mut app = CompareApp::with_keymap(comparison(), user_keymap());
    app.handle_key(code(KeyCode::Tab));
    assert_eq!(
        app.focus(),
        ComparePane::Files,
        "Tab is no longer next-pane"
    );
    app.handle_key(ch('v'));
    assert_eq!(app.focus(), ComparePane::Table);
    app.handle_key(ch('/'));
    for c in "numpy".chars() {
        app.handle_key(ch(c));
    }
    app.handle_key(code(KeyCode::Enter));
    assert!(app.searching(), "Enter is no longer keep");
    app.handle_key(KeyEvent::new(KeyCode::Char('j'), KeyModifiers::CONTROL));
    assert!(!app.searching());
    assert_eq!(app.query(), "numpy");
}

/// Runs the loop on a TestBackend with these events queued, then the channel closed.
fn run_loop(events: Vec<Event>, keymap: Keymap) -> (pyslim::Result<()>, String) {
    let (tx, rx) = channel();
    for e in events {
        tx.send(e).unwrap();
    }
    drop(tx);
    let theme = Theme::load("dark", false).unwrap();
    let mut terminal = ratatui::Terminal::new(ratatui::backend::TestBackend::new(80, 24)).unwrap();
    let options = ExplorerOptions {
        rules: pyslim::core::findings::RuleSet::builtin().unwrap(),
        dockerfile: None,
        trim_prefix: "pyslim-trim".into(),
        trim_only: false,
    };
    let screen = pyslim::tui::Screen::loading("shop/api:latest", keymap, options);
    let result = pyslim::tui::run(&mut terminal, rx, screen, &theme);
    let buf = terminal.backend().buffer().clone();
    let text = (0..24)
        .map(|y| (0..80).map(|x| buf[(x, y)].symbol()).collect::<String>())
        .collect::<Vec<_>>()
        .join("\n");
    (result, text)
}

fn loaded() -> Event {
    let image = pyslim::demo::image().unwrap();
    let ex = pyslim::core::examine(&image, None, 20);
    Event::Loaded(Box::new(Ok((image, ex))))
}

#[test]
fn a_rebound_loading_key_quits_before_the_image_arrives() {
    // Q quits while loading; q (no longer bound) does not, so the loop reaches the image.
    let (result, text) = run_loop(vec![Event::Key(ch('Q')), loaded()], user_keymap());
    result.unwrap();
    assert!(text.contains("reading shop/api:latest"), "{text}");
    let (result, text) = run_loop(vec![Event::Key(ch('q')), loaded()], user_keymap());
    result.unwrap();
    assert!(text.contains("Files · image at layer 5"), "{text}");
}

#[test]
fn one_loop_takes_the_explorer_from_loading_to_search_and_quits() {
    let keys = "/idrsa".chars().map(|c| Event::Key(ch(c)));
    let mut events = vec![Event::Layers(vec!["ADD file:3b1f in /".into()]), loaded()];
    events.extend(keys);
    let (result, text) = run_loop(events.into_iter().collect(), Keymap::load(None).unwrap());
    result.unwrap();
    assert!(text.contains("/root/.ssh/id_rsa"), "{text}");
    // A failed load ends the loop with the reader's error.
    let failed = Event::Loaded(Box::new(Err(pyslim::Error::Usage("no such image".into()))));
    let (result, _) = run_loop(vec![failed], Keymap::load(None).unwrap());
    assert_eq!(result.unwrap_err().to_string(), "no such image");
}
