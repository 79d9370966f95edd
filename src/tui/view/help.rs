use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Clear, Paragraph, Widget};

use super::{clip, pane_block};
use crate::tui::action::Action;
use crate::tui::app::App;
use crate::tui::theme::Theme;

/// Every action with its keys.
pub struct HelpOverlay<'a> {
    pub app: &'a App,
    pub theme: &'a Theme,
}

impl Widget for HelpOverlay<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let t = self.theme;
        let entries: Vec<(String, &str)> = Action::ALL
            .iter()
            .map(|(action, _, what)| (self.app.keymap.keys_for(*action).join(" "), *what))
            .collect();
        let key_width = entries
            .iter()
            .map(|(k, _)| k.chars().count())
            .max()
            .unwrap_or(0);
        // Legend, keys, borders and a spare row. When one column does not fit the screen
        // (80x24 has room for 22 rows, there are 30 actions), two columns keep every key on
        // screen; the descriptions are cut instead.
        let one_column = entries.len() as u16 + 4;
        let two = area.height < one_column;
        let rows = if two {
            entries.len().div_ceil(2) as u16 + 3
        } else {
            one_column
        };
        let width = if two { area.width } else { area.width.min(76) };
        let height = area.height.min(rows);
        let popup = Rect::new(
            area.x + (area.width - width) / 2,
            area.y + (area.height - height) / 2,
            width,
            height,
        );
        Clear.render(popup, buf);
        let mut lines = vec![Line::from(Span::styled(
            "+ added  ~ changed  - removed   [category] finding   sizes are this view's",
            t.dim(),
        ))];
        let cell = |(keys, what): &(String, &str), key_width: usize, what_width: usize| {
            vec![
                Span::styled(format!("{keys:>key_width$}  "), t.key()),
                Span::styled(clip(what, what_width), t.text()),
            ]
        };
        if two {
            let half = entries.len().div_ceil(2);
            let column = (width.saturating_sub(2) / 2) as usize;
            let what_width = column.saturating_sub(key_width + 3);
            for i in 0..half {
                let mut spans = cell(&entries[i], key_width, what_width);
                if let Some(right) = entries.get(i + half) {
                    let used: usize = spans.iter().map(|s| s.content.chars().count()).sum();
                    spans.push(Span::raw(" ".repeat(column.saturating_sub(used))));
                    spans.extend(cell(right, key_width, what_width));
                }
                lines.push(Line::from(spans));
            }
        } else {
            for e in &entries {
                // One column has room: keys right-aligned in a wide column, as always.
                lines.push(Line::from(cell(e, key_width.max(16), usize::MAX)));
            }
        }
        Paragraph::new(lines)
            .block(pane_block("Keys".into(), true, t))
            .render(popup, buf);
    }
}
