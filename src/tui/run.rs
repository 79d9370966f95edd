//! The one loop every screen runs in. Events (keys, the mouse, the image arriving, ticks)
//! come from one channel; the screen on top turns each into an action of its own and handles
//! it; the loop carries out what a screen asks for outside itself (effects.rs) and draws.
//! Generic over the ratatui backend, so tests drive it on a TestBackend.

use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender};
use std::time::{Duration, Instant};

use crossterm::event::{MouseEvent, MouseEventKind};
use ratatui::backend::Backend;
use ratatui::layout::Rect;
use ratatui::{Frame, Terminal};

use super::action::CompareAction;
use super::app::{App, ExplorerOptions};
use super::compare::CompareApp;
use super::event::Event;
use super::keymap::Keymap;
use super::loading::{Loading, LoadingView};
use super::terminal::TerminalGuard;
use super::theme::Theme;
use super::{effects, view};
use crate::error::{Error, Result};

/// The screen on top of the terminal.
pub enum Screen {
    /// The image is being read; the explorer comes once it is.
    Loading(Box<Reading>),
    Explorer(Box<App>),
    Compare(Box<CompareApp>),
}

/// The loading screen, and what the explorer will be given once the image is read.
pub struct Reading {
    state: Loading,
    keymap: Keymap,
    options: Option<ExplorerOptions>,
}

impl Screen {
    /// The loading screen for `what`, then the explorer with these keys and options.
    pub fn loading(what: &str, keymap: Keymap, options: ExplorerOptions) -> Screen {
        Screen::Loading(Box::new(Reading {
            state: Loading::new(what),
            keymap,
            options: Some(options),
        }))
    }

    pub fn compare(app: CompareApp) -> Screen {
        Screen::Compare(Box::new(app))
    }

    /// Before a frame: the screen learns its size and, loading, the time spent.
    fn prepare(&mut self, area: Rect, elapsed: Duration) {
        match self {
            Screen::Loading(r) => r.state.secs = elapsed.as_secs_f32(),
            Screen::Explorer(app) => app.resize(area),
            Screen::Compare(app) => app.resize(area),
        }
    }

    fn draw(&self, f: &mut Frame, theme: &Theme) {
        match self {
            Screen::Loading(r) => f.render_widget(
                LoadingView {
                    state: &r.state,
                    theme,
                },
                f.area(),
            ),
            Screen::Explorer(app) => view::draw(f, app, theme),
            Screen::Compare(app) => f.render_widget(view::CompareView { app, theme }, f.area()),
        }
    }

    fn quits(&self) -> bool {
        match self {
            Screen::Loading(r) => r.state.quits(),
            Screen::Explorer(app) => app.quits(),
            Screen::Compare(app) => app.quits(),
        }
    }

    /// One event for the screen on top (the image arriving is `next_screen`'s).
    fn handle(&mut self, event: Event, area: Rect) -> Result<()> {
        match (self, event) {
            (Screen::Loading(r), Event::Key(k)) => {
                if let Some(a) = r.keymap.action(k) {
                    r.state.handle(a);
                }
            }
            (Screen::Loading(r), event) => r.state.update(&event),
            (Screen::Explorer(app), Event::Key(k)) => app.handle_key(k),
            (Screen::Explorer(app), Event::Mouse(m)) => explorer_mouse(app, m, area),
            (Screen::Compare(app), Event::Key(k)) => app.handle_key(k),
            (Screen::Compare(app), Event::Mouse(m)) => match m.kind {
                MouseEventKind::ScrollDown => app.handle(CompareAction::Down),
                MouseEventKind::ScrollUp => app.handle(CompareAction::Up),
                _ => {}
            },
            _ => {}
        }
        Ok(())
    }
}

/// A click selects the row under it; the wheel scrolls the pane under it.
fn explorer_mouse(app: &mut App, m: MouseEvent, area: Rect) {
    if let Some((pane, row)) = view::hit(area, app, m.column, m.row) {
        match m.kind {
            MouseEventKind::ScrollDown => app.scroll(pane, true),
            MouseEventKind::ScrollUp => app.scroll(pane, false),
            _ => app.click(pane, row),
        }
    }
}

/// Runs the screen until the user quits. Frames are drawn only after an event changed
/// something (and, while an image loads, every 200 ms for the clock).
pub fn run<B: Backend>(
    terminal: &mut Terminal<B>,
    events: Receiver<Event>,
    mut screen: Screen,
    theme: &Theme,
) -> Result<()> {
    let io = |e: B::Error| Error::Usage(format!("terminal: {e}"));
    let started = Instant::now();
    loop {
        let size = terminal.size().map_err(io)?;
        let area = Rect::new(0, 0, size.width, size.height);
        screen.prepare(area, started.elapsed());
        terminal.draw(|f| screen.draw(f, theme)).map_err(io)?;
        let event = match &screen {
            Screen::Loading(_) => match events.recv_timeout(Duration::from_millis(200)) {
                Ok(event) => event,
                Err(RecvTimeoutError::Timeout) => Event::Tick,
                Err(RecvTimeoutError::Disconnected) => return Ok(()),
            },
            _ => match events.recv() {
                Ok(event) => event,
                Err(_) => return Ok(()),
            },
        };
        screen = next_screen(screen, event, area)?;
        if let Screen::Explorer(app) = &mut screen {
            // The app asks for I/O through effects; the loop carries them out.
            if let Some(effect) = app.take_effect() {
                if effect.is_slow() {
                    // Show "writing…" while the layers are rewritten (seconds for big images).
                    terminal.draw(|f| view::draw(f, app, theme)).map_err(io)?;
                }
                effects::carry_out(effect, app);
            }
        }
        if screen.quits() {
            return Ok(());
        }
    }
}

/// The screen after one event: the same one, changed, or the explorer once the image loaded.
fn next_screen(mut screen: Screen, event: Event, area: Rect) -> Result<Screen> {
    if let Screen::Loading(r) = &mut screen {
        if let Event::Loaded(result) = event {
            let (image, ex) = (*result)?;
            let mut app = App::new(image, ex, r.keymap.clone());
            if let Some(options) = r.options.take() {
                app.configure(options);
            }
            return Ok(Screen::Explorer(Box::new(app)));
        }
        screen.handle(event, area)?;
        return Ok(screen);
    }
    screen.handle(event, area)?;
    Ok(screen)
}

/// Opens the terminal, reads its keys into `events`, runs the screen, and gives the terminal
/// back, whatever happens.
pub fn run_in_terminal(
    events: (Sender<Event>, Receiver<Event>),
    screen: Screen,
    theme: &Theme,
) -> Result<()> {
    let (tx, rx) = events;
    let mut guard = TerminalGuard::open()?;
    super::event::spawn_terminal_reader(tx);
    run(guard.terminal(), rx, screen, theme)
}
