use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Clear, Paragraph, Widget};

use super::{clip, pane_block};
use crate::tui::app::App;
use crate::tui::theme::Theme;

/// The search box and its best matches, updated as the query changes.
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
        if s.query.is_empty() {
            lines.push(Line::from(Span::styled(
                format!("type to search {} paths", self.app.searchable_paths()),
                self.theme.dim(),
            )));
        } else if s.results.is_empty() {
            lines.push(Line::from(Span::styled("no match", self.theme.dim())));
        }
        let first = s.cursor.saturating_sub(room.saturating_sub(1));
        for (i, (id, path, _)) in s.results.iter().enumerate().skip(first).take(room) {
            let gone = !self.app.ex.tree.is_visible(*id);
            let text = clip(
                &format!("/{path}{}", if gone { "  (removed)" } else { "" }),
                inner_w,
            );
            let style = if i == s.cursor {
                self.theme.selection()
            } else {
                self.theme.text()
            };
            lines.push(Line::from(Span::styled(format!("{text:<inner_w$}"), style)));
        }
        let title = format!("Search · {} matches", s.results.len());
        Paragraph::new(lines)
            .block(pane_block(title, true, self.theme))
            .render(popup, buf);
    }
}
