use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Widget};

use super::{clip, pane_block, size};
use crate::tui::app::{App, Pane};
use crate::tui::theme::Theme;

/// Layers: index, size, wasted bytes, instruction.
pub struct LayersPane<'a> {
    pub app: &'a App,
    pub theme: &'a Theme,
}

impl Widget for LayersPane<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let app = self.app;
        let t = self.theme;
        let focused = app.focus == Pane::Layers;
        let block = pane_block(
            // The 0-based index, as the rows (`#0`…) and the tree title number layers.
            format!(
                "Layers #{} of 0–{}",
                app.layer,
                app.image.layers.len().saturating_sub(1)
            ),
            focused,
            t,
        );
        let inner = block.inner(area);
        block.render(area, buf);
        let height = inner.height as usize;
        if height == 0 {
            return;
        }
        // Narrow panes drop the wasted column to keep the instruction readable.
        let wide = inner.width >= 56;
        let header = if wide {
            format!("{:>3} {:>10} {:>10}  instruction", "#", "size", "wasted")
        } else {
            format!("{:>3} {:>10}  instruction", "#", "size")
        };
        let mut lines = vec![Line::from(Span::styled(header, t.header()))];
        let rows = height - 1;
        let first = app.layer.saturating_sub(rows.saturating_sub(1));
        for l in app.ex.analysis.layers.iter().skip(first).take(rows) {
            let text_width = (inner.width as usize).saturating_sub(if wide { 27 } else { 16 });
            let wasted = if l.wasted_bytes > 0 {
                size(l.wasted_bytes)
            } else {
                "-".into()
            };
            let style = if l.index == app.layer {
                t.selection()
            } else {
                t.text()
            };
            let wasted_style = if l.index == app.layer {
                style
            } else if l.wasted_bytes > 0 {
                t.wasted()
            } else {
                t.dim()
            };
            let mut spans = vec![Span::styled(
                format!("{:>3} {:>10} ", l.index, size(l.content_bytes)),
                style,
            )];
            if wide {
                spans.push(Span::styled(format!("{wasted:>10}  "), wasted_style));
            } else {
                spans.push(Span::styled(" ", style));
            }
            spans.push(Span::styled(
                format!("{:<text_width$}", clip(&l.instruction, text_width)),
                style,
            ));
            lines.push(Line::from(spans));
        }
        Paragraph::new(lines).render(inner, buf);
    }
}
