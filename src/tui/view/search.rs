use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Clear, Paragraph, Widget};

use super::{pane_block, size};
use crate::tui::app::App;
use crate::tui::theme::Theme;

/// Width of the size column, a space included.
const SIZE_W: usize = 11;

/// The search box and its best matches with their sizes, updated as the query changes.
pub struct SearchOverlay<'a> {
    pub app: &'a App,
    pub theme: &'a Theme,
}

impl Widget for SearchOverlay<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let s = &self.app.search;
        let width = area.width.saturating_sub(4).min(110);
        let height = area.height.saturating_sub(4).min(22);
        let popup = Rect::new(area.x + (area.width - width) / 2, area.y + 2, width, height);
        Clear.render(popup, buf);
        let inner_w = width.saturating_sub(2) as usize;
        let mut lines = vec![Line::from(vec![
            Span::styled("/ ", self.theme.key()),
            Span::styled(format!("{}▏", s.query), self.theme.text()),
        ])];
        let room = height.saturating_sub(3) as usize;
        if s.query.trim().is_empty() {
            lines.push(Line::from(Span::styled(
                format!(
                    "type to search {} paths · 'exact ^start end$ !not",
                    self.app.searchable_paths()
                ),
                self.theme.dim(),
            )));
        } else if s.results.is_empty() {
            lines.push(Line::from(Span::styled("no match", self.theme.dim())));
        }
        let path_w = inner_w.saturating_sub(SIZE_W);
        let first = s.cursor.saturating_sub(room.saturating_sub(1));
        for (i, (id, path, _)) in s.results.iter().enumerate().skip(first).take(room) {
            let gone = !self.app.ex.tree.is_visible(*id);
            let mark = if gone { "  (removed)" } else { "" };
            let text = clip_left(&format!("/{path}"), path_w.saturating_sub(mark.len()));
            let bytes = self
                .app
                .result_size(*id)
                .map(size)
                .unwrap_or_else(|| "-".into());
            let (path_style, size_style) = if i == s.cursor {
                (self.theme.selection(), self.theme.selection())
            } else {
                (self.theme.text(), self.theme.dim())
            };
            let left = format!("{text}{mark}");
            lines.push(Line::from(vec![
                Span::styled(format!("{left:<path_w$}"), path_style),
                Span::styled(format!("{bytes:>SIZE_W$}"), size_style),
            ]));
        }
        let mut title = String::from("Search");
        if !s.query.trim().is_empty() {
            let plural = if s.total == 1 { "" } else { "es" };
            title.push_str(&format!(" · {} match{plural}", s.total));
        }
        if s.total > s.results.len() {
            title.push_str(&format!(" · best {} listed", s.results.len()));
        }
        Paragraph::new(lines)
            .block(pane_block(title, true, self.theme))
            .render(popup, buf);
    }
}

/// Cut from the left, so the file name (where a search usually matches) stays in view.
pub(super) fn clip_left(s: &str, width: usize) -> String {
    let n = s.chars().count();
    if n <= width {
        s.to_owned()
    } else if width == 0 {
        String::new()
    } else {
        let tail: String = s.chars().skip(n - (width - 1)).collect();
        format!("…{tail}")
    }
}
