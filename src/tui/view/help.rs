use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Clear, Paragraph, Widget};

use super::pane_block;
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
        let rows = Action::ALL.len() as u16 + 4;
        let width = area.width.min(76);
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
            self.theme.dim(),
        ))];
        for (action, _, what) in Action::ALL {
            let keys = self.app.keymap.keys_for(*action).join(" ");
            lines.push(Line::from(vec![
                Span::styled(format!("{keys:>16}  "), self.theme.key()),
                Span::styled(*what, self.theme.text()),
            ]));
        }
        Paragraph::new(lines)
            .block(pane_block("Keys".into(), true, self.theme))
            .render(popup, buf);
    }
}
