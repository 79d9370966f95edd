//! One stream of events for the explorer: terminal input, and the image arriving from the
//! background reader. Nothing ticks while idle: the loop sleeps until an event comes, so an
//! idle explorer uses no CPU.

use std::sync::mpsc::{channel, Receiver, Sender};
use std::thread;
use std::time::Duration;

use crossterm::event::{self, KeyEvent, KeyEventKind, MouseEvent, MouseEventKind};

use crate::core::image::Image;
use crate::core::Examination;
use crate::error::Error;

pub enum Event {
    Key(KeyEvent),
    Mouse(MouseEvent),
    Resize,
    /// The image finished loading (or failed).
    Loaded(Box<Result<(Image, Examination), Error>>),
    /// A slow load is still going: redraw the progress.
    Tick,
}

pub fn channel_pair() -> (Sender<Event>, Receiver<Event>) {
    channel()
}

/// Reads the terminal on its own thread and forwards what matters.
pub fn spawn_terminal_reader(tx: Sender<Event>) {
    thread::spawn(move || loop {
        // poll with a timeout only so the thread notices when the receiver is gone.
        match event::poll(Duration::from_millis(500)) {
            Ok(true) => {
                let sent = match event::read() {
                    Ok(event::Event::Key(k)) if k.kind != KeyEventKind::Release => {
                        tx.send(Event::Key(k))
                    }
                    Ok(event::Event::Resize(_, _)) => tx.send(Event::Resize),
                    Ok(event::Event::Mouse(m))
                        if matches!(
                            m.kind,
                            MouseEventKind::Down(_)
                                | MouseEventKind::ScrollUp
                                | MouseEventKind::ScrollDown
                        ) =>
                    {
                        tx.send(Event::Mouse(m))
                    }
                    Ok(_) => Ok(()),
                    Err(_) => return,
                };
                if sent.is_err() {
                    return;
                }
            }
            Ok(false) => {}
            Err(_) => return,
        }
    });
}
