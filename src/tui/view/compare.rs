use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Direction, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Widget};

use super::{clip, pane_block, size};
use crate::report::compare::variant_rows;
use crate::tui::compare::CompareApp;
use crate::tui::theme::Theme;

/// Variants side by side on top; the files that differ below, searchable.
pub struct CompareView<'a> {
    pub app: &'a CompareApp,
    pub theme: &'a Theme,
}

impl Widget for CompareView<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let (app, t) = (self.app, self.theme);
        let c = &app.comparison;
        let rows = variant_rows(c);
        let table_h = (rows.len() as u16 + 2).min(area.height.saturating_sub(6) / 2 + 4);
        let parts = Layout::default()
            .direction(Direction::Vertical)
            .constraints([
                Constraint::Length(table_h),
                Constraint::Min(3),
                Constraint::Length(1),
            ])
            .split(area);
        let n = c.variants.len().max(1);
        let label_w = 20usize;
        let col_w = ((parts[0].width as usize).saturating_sub(label_w + 2) / n).max(6);
        let table: Vec<Line> = rows
            .iter()
            .map(|(label, vals)| {
                let mut spans = vec![Span::styled(
                    format!("{:<label_w$}", clip(label, label_w)),
                    t.header(),
                )];
                let differs = vals.iter().any(|v| v != &vals[0]);
                for v in vals {
                    let style = if label.is_empty() {
                        t.title()
                    } else if differs {
                        t.text()
                    } else {
                        t.dim()
                    };
                    spans.push(Span::styled(
                        format!(" {:<w$}", clip(v, col_w - 1), w = col_w - 1),
                        style,
                    ));
                }
                Line::from(spans)
            })
            .collect();
        Paragraph::new(table)
            .block(pane_block(
                format!("Compare · {} images", c.variants.len()),
                false,
                t,
            ))
            .render(parts[0], buf);

        let title = if app.query.is_empty() {
            format!("Files that differ · {}", c.paths_differing)
        } else {
            format!(
                "Files that differ · {} match {:?}",
                app.shown.len(),
                app.query
            )
        };
        let block = pane_block(title, true, t);
        let inner = block.inner(parts[1]);
        block.render(parts[1], buf);
        let visible = inner.height as usize;
        if visible > 0 {
            let path_w = (inner.width as usize).saturating_sub(n * 12 + 1);
            let first = app.cursor.saturating_sub(visible.saturating_sub(1));
            let sizes = |bytes: &[Option<u64>], style, selected: bool, spans: &mut Vec<Span>| {
                for b in bytes {
                    let (text, st) = match b {
                        Some(b) => (size(*b), style),
                        None => ("-".to_owned(), if selected { style } else { t.dim() }),
                    };
                    spans.push(Span::styled(format!("{text:>12}"), st));
                }
            };
            let lines: Vec<Line> = if app.in_tree() {
                app.rows
                    .iter()
                    .enumerate()
                    .skip(first)
                    .take(visible)
                    .map(|(k, &(id, depth))| {
                        let node = &app.tree[id];
                        let selected = k == app.cursor;
                        let style = if selected { t.selection() } else { t.text() };
                        let glyph = if node.children.is_empty() {
                            "  "
                        } else if app.expanded.contains(&id) {
                            "▾ "
                        } else {
                            "▸ "
                        };
                        let label = format!("{}{glyph}{}", "  ".repeat(depth as usize), node.name);
                        let mut spans = vec![Span::styled(
                            format!("{:<w$}", clip(&label, path_w), w = path_w),
                            style,
                        )];
                        sizes(&node.bytes, style, selected, &mut spans);
                        Line::from(spans)
                    })
                    .collect()
            } else {
                app.shown
                    .iter()
                    .enumerate()
                    .skip(first)
                    .take(visible)
                    .map(|(k, &i)| {
                        let p = &c.paths[i];
                        let selected = k == app.cursor;
                        let style = if selected { t.selection() } else { t.text() };
                        let mut spans = vec![Span::styled(
                            format!(
                                "/{:<w$}",
                                clip(&p.path, path_w.saturating_sub(1)),
                                w = path_w.saturating_sub(1)
                            ),
                            style,
                        )];
                        sizes(&p.bytes, style, selected, &mut spans);
                        Line::from(spans)
                    })
                    .collect()
            };
            Paragraph::new(lines).render(inner, buf);
        }
        let footer = if app.searching {
            Line::from(vec![
                Span::styled(" / ", t.key()),
                Span::styled(format!("{}▏", app.query), t.text()),
                Span::styled("   Enter keep  Esc clear", t.dim()),
            ])
        } else {
            Line::from(vec![
                Span::styled(" ↑↓", t.key()),
                Span::styled(" move ", t.dim()),
                Span::styled(" ←→", t.key()),
                Span::styled(" close/open ", t.dim()),
                Span::styled(" /", t.key()),
                Span::styled(" search ", t.dim()),
                Span::styled(" q", t.key()),
                Span::styled(" quit", t.dim()),
            ])
        };
        Paragraph::new(footer).render(parts[2], buf);
    }
}
