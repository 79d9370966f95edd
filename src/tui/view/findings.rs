use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Widget};

use super::{clip, pane_block, size};
use crate::tui::app::{App, Pane};
use crate::tui::theme::Theme;

/// Findings, most severe first: severity, bytes, title.
pub struct FindingsPane<'a> {
    pub app: &'a App,
    pub theme: &'a Theme,
}

impl Widget for FindingsPane<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let app = self.app;
        let t = self.theme;
        let list = &app.ex.findings.findings;
        let focused = app.focus == Pane::Findings;
        let block = pane_block(
            format!(
                "Findings {} · {} reclaimable",
                list.len(),
                size(app.ex.findings.reclaimable_bytes)
            ),
            focused,
            t,
        );
        let inner = block.inner(area);
        block.render(area, buf);
        let rows = inner.height as usize;
        if rows == 0 {
            return;
        }
        let first = app.finding_cursor.saturating_sub(rows.saturating_sub(1));
        let width = inner.width as usize;
        let lines: Vec<Line> = list
            .iter()
            .enumerate()
            .skip(first)
            .take(rows)
            .map(|(i, f)| {
                let selected = focused && i == app.finding_cursor;
                let base = if selected { t.selection() } else { t.text() };
                let sev = if selected {
                    base
                } else {
                    t.severity(f.severity)
                };
                let bytes = if f.bytes > 0 && f.bloat {
                    size(f.bytes)
                } else {
                    String::new()
                };
                let title_width = width.saturating_sub(20);
                Line::from(vec![
                    Span::styled(format!("{:<8} ", f.severity.as_str()), sev),
                    Span::styled(format!("{bytes:>10} "), base),
                    Span::styled(
                        format!("{:<title_width$}", clip(&f.title, title_width)),
                        base,
                    ),
                ])
            })
            .collect();
        Paragraph::new(lines).render(inner, buf);
    }
}
