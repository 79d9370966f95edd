//! The explorer: `pyslim explore`. State and update (app.rs), drawing (view/), keys
//! (keymap.rs) and themes (theme.rs) are separate; the loop below is generic over the
//! ratatui backend, so tests drive it on a TestBackend.

pub mod action;
pub mod app;
pub mod compare;
pub mod event;
pub mod keymap;
pub mod loading;
pub use loading::draw_loading;
pub mod search;
pub mod theme;
pub mod treeview;
pub mod view;

use std::sync::mpsc::Receiver;
use std::time::{Duration, Instant};

use ratatui::backend::Backend;
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
    // Loading: the layers show as soon as they are known, each marked when read; the screen
    // answers (q quits) while the image is read in the background.
    let mut loading = loading::Loading::new(loading);
    let mut app = loop {
        loading.secs = started.elapsed().as_secs_f32();
        terminal
            .draw(|f| {
                f.render_widget(
                    loading::LoadingView {
                        state: &loading,
                        theme,
                    },
                    f.area(),
                )
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
            Ok(event) => loading.update(&event),
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {}
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
        match app.effect.take() {
            Some(app::Effect::WriteTrim(outputs, prefix)) => {
                let result = crate::report::trim::write(std::path::Path::new(&prefix), &outputs)
                    .map_err(|e| e.to_string());
                app.trim_written(result);
            }
            Some(app::Effect::WriteTrimmedImage(plan, path)) => {
                // Show "writing…" while the layers are rewritten (seconds for big images).
                terminal.draw(|f| view::draw(f, &app, theme)).map_err(io)?;
                let result = write_trimmed_image(&app, &plan, &path);
                app.trim_image_written(result);
            }
            None => {}
        }
        if app.quit {
            return Ok(());
        }
    }
}

/// Writes the trimmed image the trim screen asked for, through the trim job the command
/// runs too: from the image's archive or layout, the demo image, or (saved first, beside the
/// output) the daemon. Returns the line the screen shows.
pub fn write_trimmed_image(
    app: &App,
    plan: &crate::core::trim_image::TrimPlan,
    path: &std::path::Path,
) -> std::result::Result<String, String> {
    use crate::source::writer::trimmed::TrimmedOptions;
    use crate::trim_job::{Origin, TrimJob};
    let opts = TrimmedOptions {
        format: crate::source::writer::ArchiveFormat::DockerLegacy,
        squash: false,
        tag: None,
        platform: None,
        force: false,
        limits: Default::default(),
    };
    let image = &app.image;
    let job = TrimJob::prepare(&Origin::of(image), path, opts, None).map_err(|e| e.to_string())?;
    let trimmed = job.write(image, &app.ex, plan).map_err(|e| e.to_string())?;
    let after: u64 = trimmed.written.layers.iter().map(|l| l.content_bytes).sum();
    Ok(format!(
        "wrote {}: {} of files in layers, from {} (docker load -i {})",
        path.display(),
        crate::report::text::size(after),
        crate::report::text::size(plan.bytes_before()),
        path.display()
    ))
}

/// Runs the compare view until the user quits.
pub fn run_compare<B: Backend>(
    terminal: &mut Terminal<B>,
    events: Receiver<Event>,
    mut app: compare::CompareApp,
    theme: &Theme,
) -> Result<()> {
    let io = |e: B::Error| Error::Usage(format!("terminal: {e}"));
    loop {
        terminal
            .draw(|f| {
                app.page = f.area().height.saturating_sub(10) as usize;
                f.render_widget(view::CompareView { app: &app, theme }, f.area());
            })
            .map_err(io)?;
        match events.recv() {
            Ok(Event::Key(k)) => app.handle_key(k),
            Ok(_) => {}
            Err(_) => return Ok(()),
        }
        if app.quit {
            return Ok(());
        }
    }
}
