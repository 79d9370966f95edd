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
    /// The layers are known (before any is read).
    Layers(Vec<String>),
    /// One layer has been read: index, entries, content bytes.
    LayerRead(usize, usize, u64),
    /// What one layer (by index) wrote, by top-level directory: (name, bytes, files).
    LayerFiles(usize, Vec<(String, u64, u64)>),
    /// The layers' sizes from the daemon's history, before any is read.
    ExpectedSizes(Vec<Option<u64>>),
    /// Bytes of the daemon's export read so far, of about the second figure.
    ExportRead(u64, u64),
}

/// Forwards what the reader learns to the explorer's event stream.
pub struct ChannelObserver(pub Sender<Event>);

impl crate::source::LoadObserver for ChannelObserver {
    fn follows_layers(&self) -> bool {
        true
    }
    /// Nothing is written under the screen (stderr would tear it); the header names the
    /// image being read.
    fn notice(&self, _line: &str) {}
    fn layers(&self, instructions: &[String]) {
        let _ = self.0.send(Event::Layers(instructions.to_vec()));
    }
    fn expected_sizes(&self, sizes: &[Option<u64>]) {
        let _ = self.0.send(Event::ExpectedSizes(sizes.to_vec()));
    }
    fn export_read(&self, so_far: u64, total: u64) {
        let _ = self.0.send(Event::ExportRead(so_far, total));
    }
    fn layer_read(&self, index: usize, entries: usize, bytes: u64) {
        let _ = self.0.send(Event::LayerRead(index, entries, bytes));
    }
    fn layer_changes(&self, index: usize, changes: &crate::core::entry::LayerChanges) {
        let mut dirs: std::collections::BTreeMap<String, (u64, u64)> = Default::default();
        for e in &changes.entries {
            let top = e.path.split('/').next().unwrap_or("").to_owned();
            let slot = dirs.entry(top).or_default();
            slot.0 += e.size;
            slot.1 += 1;
        }
        let _ = self.0.send(Event::LayerFiles(
            index,
            dirs.into_iter().map(|(k, (b, n))| (k, b, n)).collect(),
        ));
    }
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
