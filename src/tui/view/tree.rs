use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Widget};

use super::{clip, pane_block, size};
use crate::core::entry::EntryKind;
use crate::core::tree::Change;
use crate::tui::app::{App, Pane};
use crate::tui::theme::Theme;
use crate::tui::treeview::{self, Filter, Scope, SortBy};

/// The file tree of the selected layer: marker, size, name; bloat tagged with its category.
pub struct TreePane<'a> {
    pub app: &'a App,
    pub theme: &'a Theme,
}

fn marker(change: Option<Change>) -> &'static str {
    match change {
        Some(Change::Added) => "+",
        Some(Change::Modified) => "~",
        Some(Change::Deleted) => "-",
        None => " ",
    }
}

impl Widget for TreePane<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let app = self.app;
        let t = self.theme;
        let tree = &app.ex.tree;
        let scope = match app.view.scope {
            Scope::UpToLayer => "image at",
            Scope::LayerOnly => "changes in",
        };
        let mut title = format!("Files · {scope} layer {}", app.layer);
        if app.filter != Filter::All {
            title.push_str(&format!(" · only {}", app.filter.label()));
        }
        if app.min_size > 0 {
            title.push_str(&format!(" · ≥ {}", size(app.min_size)));
        }
        if app.sort == SortBy::Name {
            title.push_str(" · by name");
        }
        let focused = app.focus == Pane::Tree;
        let block = pane_block(title, focused, t);
        let inner = block.inner(area);
        block.render(area, buf);
        let rows = inner.height as usize;
        if rows == 0 {
            return;
        }
        if app.rows.is_empty() {
            Paragraph::new(Line::from(Span::styled(
                "nothing to show with these filters",
                t.dim(),
            )))
            .render(inner, buf);
            return;
        }
        let first = first_row(app.tree_cursor, app.rows.len(), rows);
        let width = inner.width as usize;
        let lines: Vec<Line> = app
            .rows
            .iter()
            .enumerate()
            .skip(first)
            .take(rows)
            .map(|(i, r)| {
                let id = r.node;
                let node = tree.node(id);
                let change = app.view.change[id as usize];
                let dir = treeview::is_dir(tree, &app.view, id);
                let glyph = if dir {
                    if app.is_open(id) {
                        "▾ "
                    } else {
                        "▸ "
                    }
                } else {
                    "  "
                };
                let state = tree.state_at(id, app.layer as u32);
                let link = match state.map(|e| (e.kind, e.link_target.as_deref())) {
                    Some((EntryKind::Symlink, Some(target))) => format!(" → {target}"),
                    _ => String::new(),
                };
                let tag = app
                    .finding_of
                    .get(&id)
                    .map(|&f| format!(" [{}]", app.ex.findings.findings[f].category))
                    .unwrap_or_default();
                let selected = i == app.tree_cursor;
                let name_style = if selected && focused {
                    t.selection()
                } else {
                    t.change(change)
                };
                let indent = "  ".repeat(r.depth as usize);
                let name = format!("{indent}{glyph}{}{link}", node.name);
                let name_width = width.saturating_sub(13 + tag.chars().count());
                let mut spans = vec![
                    Span::styled(format!("{} ", marker(change)), t.change(change)),
                    Span::styled(
                        format!("{:>10} ", size(app.shown_bytes(id))),
                        if selected && focused {
                            name_style
                        } else {
                            t.dim()
                        },
                    ),
                    Span::styled(
                        format!("{:<name_width$}", clip(&name, name_width)),
                        name_style,
                    ),
                ];
                if !tag.is_empty() {
                    let sev = app
                        .finding_of
                        .get(&id)
                        .map(|&f| app.ex.findings.findings[f].severity);
                    spans.push(Span::styled(
                        tag,
                        sev.map(|s| t.severity(s)).unwrap_or(t.dim()),
                    ));
                }
                Line::from(spans)
            })
            .collect();
        Paragraph::new(lines).render(inner, buf);
    }
}

/// The first row shown: the cursor stays in view, a third of the pane from the bottom.
pub fn first_row(cursor: usize, len: usize, rows: usize) -> usize {
    cursor
        .saturating_sub(rows.saturating_sub(1).min(rows * 2 / 3))
        .min(len.saturating_sub(rows))
}
