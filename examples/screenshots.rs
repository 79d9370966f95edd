//! Draws the explorer's main views with the real renderer (on ratatui's TestBackend) and
//! writes them as SVG pictures to screenshots/. Run after any change to the UI:
//!
//!     cargo run --example screenshots
use std::fmt::Write as _;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::backend::TestBackend;
use ratatui::buffer::Buffer;
use ratatui::style::{Color, Modifier};
use ratatui::Terminal;

use pyslim::core::examine;
use pyslim::core::findings::RuleSet;
use pyslim::tui::app::App;
use pyslim::tui::keymap::Keymap;
use pyslim::tui::theme::Theme;
use pyslim::tui::view;

const W: u16 = 160;
const H: u16 = 48;
const CELL_W: f32 = 8.4;
const CELL_H: f32 = 17.0;

fn app() -> App {
    let image = pyslim::demo::image().expect("demo image");
    let ex = examine(&image, Some(&RuleSet::builtin().expect("rules")), 20);
    App::new(image, ex, Keymap::load(None).expect("keymap"))
}

fn keys(app: &mut App, codes: &[KeyCode]) {
    for &c in codes {
        app.handle_key(KeyEvent::new(c, KeyModifiers::NONE));
    }
}

/// xterm's default palette for named colours.
fn hex(c: Color, default: &str) -> String {
    match c {
        Color::Reset => default.to_owned(),
        Color::Black => "#000000".into(),
        Color::Red => "#cd3131".into(),
        Color::Green => "#0dbc79".into(),
        Color::Yellow => "#e5e510".into(),
        Color::Blue => "#2472c8".into(),
        Color::Magenta => "#bc3fbc".into(),
        Color::Cyan => "#11a8cd".into(),
        Color::Gray => "#b0b0b0".into(),
        Color::DarkGray => "#666666".into(),
        Color::LightRed => "#f14c4c".into(),
        Color::LightGreen => "#23d18b".into(),
        Color::LightYellow => "#f5f543".into(),
        Color::LightBlue => "#3b8eea".into(),
        Color::LightMagenta => "#d670d6".into(),
        Color::LightCyan => "#29b8db".into(),
        Color::White => "#ffffff".into(),
        Color::Rgb(r, g, b) => format!("#{r:02x}{g:02x}{b:02x}"),
        Color::Indexed(_) => default.to_owned(),
    }
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

fn svg(buf: &Buffer, background: &str, foreground: &str) -> String {
    let mut out = String::new();
    let (w, h) = (W as f32 * CELL_W, H as f32 * CELL_H);
    let _ = writeln!(
        out,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" viewBox="0 0 {w} {h}">"#
    );
    let _ = writeln!(
        out,
        r#"<rect width="100%" height="100%" fill="{background}"/>"#
    );
    let _ = writeln!(
        out,
        r#"<g font-family="DejaVu Sans Mono, Menlo, Consolas, monospace" font-size="14" xml:space="preserve">"#
    );
    for y in 0..H {
        for x in 0..W {
            let cell = &buf[(x, y)];
            if cell.bg != Color::Reset {
                let _ = writeln!(
                    out,
                    r#"<rect x="{}" y="{}" width="{}" height="{CELL_H}" fill="{}"/>"#,
                    x as f32 * CELL_W,
                    y as f32 * CELL_H,
                    CELL_W + 0.5,
                    hex(cell.bg, background)
                );
            }
        }
        let mut x = 0;
        while x < W {
            let cell = &buf[(x, y)];
            let sym = cell.symbol();
            if sym.trim().is_empty() {
                x += 1;
                continue;
            }
            let color = hex(cell.fg, foreground);
            let weight = if cell.modifier.contains(Modifier::BOLD) {
                r#" font-weight="bold""#
            } else {
                ""
            };
            let _ = writeln!(
                out,
                r#"<text x="{}" y="{}" fill="{color}"{weight}>{}</text>"#,
                x as f32 * CELL_W,
                y as f32 * CELL_H + 13.0,
                escape(sym)
            );
            x += 1;
        }
    }
    out.push_str("</g>\n</svg>\n");
    out
}

fn main() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("screenshots");
    std::fs::create_dir_all(&dir).expect("screenshots/");
    let shots: Vec<(&str, Vec<KeyCode>)> = vec![
        ("explore", vec![]),
        (
            "tree",
            vec![
                KeyCode::Tab,
                KeyCode::Char('l'),
                KeyCode::Char('j'),
                KeyCode::Char('l'),
                KeyCode::Char('j'),
                KeyCode::Char('l'),
            ],
        ),
        ("finding", vec![KeyCode::BackTab, KeyCode::Char('j')]),
        (
            "layer-only",
            vec![
                KeyCode::Up,
                KeyCode::Up,
                KeyCode::Char('c'),
                KeyCode::Tab,
                KeyCode::Char('l'),
            ],
        ),
        (
            "search",
            vec![
                KeyCode::Char('/'),
                KeyCode::Char('c'),
                KeyCode::Char('c'),
                KeyCode::Char('1'),
            ],
        ),
        ("help", vec![KeyCode::Char('?')]),
        (
            "trim",
            vec![
                KeyCode::Char('t'),
                KeyCode::Char('y'),
                KeyCode::Char('y'),
                KeyCode::Char('n'),
            ],
        ),
    ];
    for theme_name in ["dark", "light"] {
        let theme = Theme::load(theme_name, false).expect("theme");
        let (bg, fg) = if theme_name == "dark" {
            ("#1e1e1e", "#d4d4d4")
        } else {
            ("#ffffff", "#1f2328")
        };
        for (name, codes) in &shots {
            if theme_name == "light" && *name != "explore" {
                continue;
            }
            let mut app = app();
            keys(&mut app, codes);
            let mut terminal = Terminal::new(TestBackend::new(W, H)).expect("backend");
            terminal
                .draw(|f| {
                    app.resize(f.area());
                    view::draw(f, &app, &theme);
                })
                .expect("draw");
            let file = if theme_name == "dark" {
                format!("{name}.svg")
            } else {
                format!("{name}-{theme_name}.svg")
            };
            std::fs::write(dir.join(&file), svg(terminal.backend().buffer(), bg, fg))
                .expect("write");
            println!("screenshots/{file}");
        }
    }
}
