//! The screen while an image is read: its layers (instruction and, from the daemon's
//! history, expected size) at once, each marked on its own row as it is read, the bytes of
//! the daemon's export read so far, and the files written so far by top-level directory.
//! State (`Loading`, changed only by `update` and `handle`) and view (`LoadingView`) as
//! everywhere else.

use std::collections::BTreeMap;

use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Direction, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Widget};

use super::action::LoadingAction;
use super::event::Event;
use super::theme::Theme;
use super::view;

#[derive(Debug, Clone, Default, PartialEq)]
pub struct LayerRow {
    pub instruction: String,
    /// Content bytes the history gives, before the layer is read.
    pub expected: Option<u64>,
    /// Entries and content bytes, once read.
    pub read: Option<(usize, u64)>,
}

#[derive(Debug, Clone, Default)]
pub struct Loading {
    /// What is being read (the image reference).
    pub what: String,
    pub secs: f32,
    pub layers: Vec<LayerRow>,
    /// Bytes of the daemon's export read so far, and about how many it will send.
    pub export: Option<(u64, u64)>,
    /// Files so far by top-level directory: (bytes, files).
    files: BTreeMap<String, (u64, u64)>,
    /// Layers whose files are counted already: a stream tells a layer as it passes and
    /// again once the image is whole.
    counted: Vec<bool>,
    /// The user asked to stop.
    quit: bool,
}

impl Loading {
    pub fn new(what: &str) -> Loading {
        Loading {
            what: what.to_owned(),
            ..Default::default()
        }
    }

    /// The loading screen's `handle`: one action of its keymap section.
    pub fn handle(&mut self, action: LoadingAction) {
        match action {
            LoadingAction::Quit => self.quit = true,
        }
    }

    pub fn quits(&self) -> bool {
        self.quit
    }

    /// Takes in what the reader learnt; other events are not the loading screen's.
    pub fn update(&mut self, event: &Event) {
        match event {
            Event::Layers(list) => {
                self.layers = list
                    .iter()
                    .map(|l| LayerRow {
                        instruction: l.clone(),
                        ..Default::default()
                    })
                    .collect();
                self.counted = vec![false; list.len()];
            }
            Event::ExpectedSizes(sizes) => {
                for (row, size) in self.layers.iter_mut().zip(sizes) {
                    row.expected = *size;
                }
            }
            Event::ExportRead(so_far, total) => self.export = Some((*so_far, *total)),
            Event::LayerRead(i, entries, bytes) => {
                if let Some(row) = self.layers.get_mut(*i) {
                    row.read = Some((*entries, *bytes));
                }
            }
            Event::LayerFiles(i, dirs) => {
                if let Some(done) = self.counted.get_mut(*i) {
                    if *done {
                        return;
                    }
                    *done = true;
                }
                for (name, bytes, count) in dirs {
                    let slot = self.files.entry(name.clone()).or_default();
                    slot.0 += bytes;
                    slot.1 += count;
                }
            }
            _ => {}
        }
    }

    pub fn layers_read(&self) -> usize {
        self.layers.iter().filter(|l| l.read.is_some()).count()
    }

    /// Files so far, biggest directory first.
    pub fn files(&self) -> Vec<(&str, u64, u64)> {
        let mut v: Vec<_> = self
            .files
            .iter()
            .map(|(k, (b, n))| (k.as_str(), *b, *n))
            .collect();
        v.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(b.0)));
        v
    }

    /// What the header says of the progress.
    fn progress(&self) -> String {
        let mut parts = Vec::new();
        if !self.layers.is_empty() {
            parts.push(format!(
                "{}/{} layers read",
                self.layers_read(),
                self.layers.len()
            ));
        }
        match self.export {
            Some((0, _)) if self.layers_read() == 0 => {
                parts.push("the daemon is preparing the export".into())
            }
            Some((so_far, total)) => parts.push(format!(
                "export {} of {}",
                view::size(so_far),
                view::size(total.max(so_far))
            )),
            None => {}
        }
        parts.join(" · ")
    }
}

pub struct LoadingView<'a> {
    pub state: &'a Loading,
    pub theme: &'a Theme,
}

impl Widget for LoadingView<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let (s, theme) = (self.state, self.theme);
        let rows = Layout::default()
            .direction(Direction::Vertical)
            .constraints([Constraint::Length(1), Constraint::Min(1)])
            .split(area);
        let progress = s.progress();
        let head = Line::from(vec![
            Span::styled(" pyslim ", theme.title()),
            Span::styled(format!("reading {} … {:.1}s", s.what, s.secs), theme.text()),
            Span::styled(
                if progress.is_empty() {
                    String::new()
                } else {
                    format!("   {progress}")
                },
                theme.header(),
            ),
            Span::styled("   q quits", theme.dim()),
        ]);
        Paragraph::new(head).render(rows[0], buf);
        let cols = Layout::default()
            .direction(Direction::Horizontal)
            .constraints([Constraint::Percentage(60), Constraint::Percentage(40)])
            .split(rows[1]);
        let mut left = Vec::new();
        for (i, row) in s.layers.iter().enumerate().take(cols[0].height as usize) {
            let (mark, info, style) = match (row.read, row.expected) {
                (Some((entries, bytes)), _) => (
                    "✓",
                    format!("{entries:>7} entries {:>11}", view::size(bytes)),
                    theme.text(),
                ),
                // Known from history: shown, but not as read.
                (None, Some(bytes)) => (
                    "·",
                    format!("{:>15} {:>11}", "history says", view::size(bytes)),
                    theme.dim(),
                ),
                (None, None) => ("·", format!("{:>27}", ""), theme.dim()),
            };
            let width = (cols[0].width as usize).saturating_sub(38);
            left.push(Line::from(Span::styled(
                format!(
                    " {mark} {i:>3} {info}  {}",
                    view::clip_text(&row.instruction, width)
                ),
                style,
            )));
        }
        Paragraph::new(left).render(cols[0], buf);
        let files = s.files();
        if !files.is_empty() {
            let mut right = vec![Line::from(Span::styled("files so far", theme.header()))];
            for (name, bytes, count) in files
                .into_iter()
                .take(cols[1].height.saturating_sub(1) as usize)
            {
                right.push(Line::from(Span::styled(
                    format!("{:>11} {count:>7}  /{name}", view::size(bytes)),
                    theme.text(),
                )));
            }
            Paragraph::new(right).render(cols[1], buf);
        }
    }
}

/// Draws the loading screen from plain figures: layers as (instruction, read) and files as
/// (top-level directory, bytes, files).
pub fn draw_loading(
    f: &mut ratatui::Frame,
    theme: &Theme,
    what: &str,
    secs: f32,
    layers: &[(String, Option<(usize, u64)>)],
    files: &[(String, u64, u64)],
) {
    let mut state = Loading::new(what);
    state.secs = secs;
    state.update(&Event::Layers(layers.iter().map(|l| l.0.clone()).collect()));
    for (i, (_, read)) in layers.iter().enumerate() {
        if let Some((entries, bytes)) = read {
            state.update(&Event::LayerRead(i, *entries, *bytes));
        }
    }
    state.update(&Event::LayerFiles(usize::MAX, files.to_vec()));
    f.render_widget(
        LoadingView {
            state: &state,
            theme,
        },
        f.area(),
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    fn screen(state: &Loading, w: u16, h: u16) -> String {
        let theme = Theme::load("dark", false).unwrap();
        let mut terminal =
            ratatui::Terminal::new(ratatui::backend::TestBackend::new(w, h)).unwrap();
        terminal
            .draw(|f| {
                f.render_widget(
                    LoadingView {
                        state,
                        theme: &theme,
                    },
                    f.area(),
                )
            })
            .unwrap();
        let buf = terminal.backend().buffer().clone();
        (0..h)
            .map(|y| {
                (0..w)
                    .map(|x| buf[(x, y)].symbol().to_string())
                    .collect::<String>()
                    .trim_end()
                    .to_owned()
            })
            .collect::<Vec<_>>()
            .join("\n")
    }

    fn daemon_start() -> Loading {
        let mut s = Loading::new("pyslim/real-python:latest");
        s.secs = 12.0;
        s.update(&Event::Layers(vec![
            "ADD file:3b7f in /".into(),
            "RUN apt-get update && apt-get install -y build-essential".into(),
            "RUN python3 -m venv /opt/venv && pip install numpy".into(),
            "COPY dir:9e8d in /".into(),
            "RUN rm -rf /root/.ssh".into(),
        ]));
        s.update(&Event::ExpectedSizes(vec![
            Some(33_500_000),
            Some(192_000_000),
            Some(216_000_000),
            Some(2_410),
            Some(0),
        ]));
        s.update(&Event::ExportRead(0, 441_406_266));
        s
    }

    #[test]
    fn before_the_export_sends_a_byte_the_history_is_on_screen() {
        let s = daemon_start();
        let text = screen(&s, 110, 7);
        // Instructions and sizes from history, each on its own row, none marked read.
        let rows: Vec<&str> = text.lines().collect();
        assert!(
            rows[1].contains("history says   31.95 MiB  ADD file:3b7f"),
            "{text}"
        );
        assert!(
            rows[3].contains("history says  205.99 MiB  RUN python3 -m venv"),
            "{text}"
        );
        assert!(!text.contains('✓') && !text.contains("entries"), "{text}");
        assert!(!text.contains("layer 0"), "{text}");
        assert!(
            rows[0].contains("0/5 layers read · the daemon is preparing the export"),
            "{text}"
        );
    }

    #[test]
    fn layers_are_marked_on_their_own_rows_as_the_export_passes() {
        let mut s = daemon_start();
        // The export sends layers in its own order: the pip layer first.
        s.update(&Event::ExportRead(230 << 20, 441_406_266));
        s.update(&Event::LayerRead(2, 8_824, 216_118_000));
        s.update(&Event::LayerFiles(
            2,
            vec![("opt".into(), 216_118_000, 8_824)],
        ));
        let text = screen(&s, 110, 7);
        let rows: Vec<&str> = text.lines().collect();
        assert!(
            rows[0].contains("1/5 layers read · export 230 MiB of 420.96 MiB"),
            "{text}"
        );
        assert!(
            rows[3].contains('✓') && rows[3].contains("8824 entries"),
            "{text}"
        );
        for other in [1, 2, 4, 5] {
            assert!(!rows[other].contains('✓'), "row {other}: {text}");
        }
        assert!(text.contains("/opt"), "{text}");
        // The same layer told again once the image is whole: counted once.
        s.update(&Event::LayerRead(2, 8_824, 216_118_000));
        s.update(&Event::LayerFiles(
            2,
            vec![("opt".into(), 216_118_000, 8_824)],
        ));
        assert_eq!(s.files(), vec![("opt", 216_118_000, 8_824)]);
        assert_eq!(s.layers_read(), 1);
    }
}
