//! The explorer: `pyslim explore`. State and update (app.rs), drawing (view/), keys
//! (keymap.rs) and themes (theme.rs) are separate; the loop below is generic over the
//! ratatui backend, so tests drive it on a TestBackend.

pub mod action;
pub mod app;
pub mod event;
pub mod keymap;
pub mod search;
pub mod theme;
pub mod treeview;
pub mod view;

use std::sync::mpsc::Receiver;
use std::time::{Duration, Instant};

use ratatui::backend::Backend;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use ratatui::Terminal;

use self::app::App;
use self::event::Event;
use self::keymap::Keymap;
use self::theme::Theme;
use crate::error::{Error, Result};

/// Runs until the user quits. Frames are drawn only after an event changed something.
pub fn run<B: Backend>(
    terminal: &mut Terminal<B>,
    events: Receiver<Event>,
    keymap: Keymap,
    theme: &Theme,
    loading: &str,
    setup: impl FnOnce(&mut App),
) -> Result<()> {
    let io = |e: B::Error| Error::Usage(format!("terminal: {e}"));
    let started = Instant::now();
    // Loading: the screen answers (q quits) while the image is read in the background.
    let mut app = loop {
        terminal
            .draw(|f| {
                let secs = started.elapsed().as_secs_f32();
                let line = Line::from(vec![
                    Span::styled(" pyslim ", theme.title()),
                    Span::styled(format!("reading {loading} … {secs:.1}s"), theme.text()),
                    Span::styled("   q quits", theme.dim()),
                ]);
                f.render_widget(Paragraph::new(line), f.area());
            })
            .map_err(io)?;
        match events.recv_timeout(Duration::from_millis(200)) {
            Ok(Event::Loaded(result)) => {
                let (image, ex) = (*result)?;
                let mut app = App::new(image, ex, keymap);
                setup(&mut app);
                break app;
            }
            Ok(Event::Key(k)) if keymap.action(k) == Some(action::Action::Quit) => return Ok(()),
            Ok(_) | Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {}
            Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => return Ok(()),
        }
    };
    loop {
        terminal
            .draw(|f| {
                app.page = view::areas(f.area(), &app).tree.height.saturating_sub(2) as usize;
                view::draw(f, &app, theme);
            })
            .map_err(io)?;
        match events.recv() {
            Ok(Event::Key(k)) => app.handle_key(k),
            Ok(Event::Mouse(m)) => {
                let size = terminal.size().map_err(io)?;
                let full = ratatui::layout::Rect::new(0, 0, size.width, size.height);
                if let Some((pane, row)) = view::hit(full, &app, m.column, m.row) {
                    match m.kind {
                        crossterm::event::MouseEventKind::ScrollDown => app.scroll(pane, true),
                        crossterm::event::MouseEventKind::ScrollUp => app.scroll(pane, false),
                        _ => app.click(pane, row),
                    }
                }
            }
            Ok(_) => {}
            Err(_) => return Ok(()),
        }
        // The app asks for I/O through effects; the loop carries them out.
        if let Some(app::Effect::WriteTrim(outputs, prefix)) = app.effect.take() {
            let result = crate::report::trim::write(std::path::Path::new(&prefix), &outputs)
                .map_err(|e| e.to_string());
            app.trim_written(result);
        }
        if app.quit {
            return Ok(());
        }
    }
}
