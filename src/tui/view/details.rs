use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Widget, Wrap};

use super::{clip, pane_block, size};
use crate::core::findings::Finding;
use crate::core::tree::{Change, NodeId};
use crate::tui::app::{App, Pane};
use crate::tui::theme::Theme;
use crate::tui::treeview::Filter;

/// Details of what is selected: a path's history, or a finding's reason and fix.
pub struct DetailsPane<'a> {
    pub app: &'a App,
    pub theme: &'a Theme,
}

impl Widget for DetailsPane<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let app = self.app;
        let (title, lines) = if app.focus == Pane::Findings {
            match app.ex.findings.findings.get(app.finding_cursor) {
                Some(f) => (
                    "Finding".to_owned(),
                    finding_lines(f, self.theme, area.width as usize),
                ),
                None => ("Finding".to_owned(), vec![Line::from("no findings")]),
            }
        } else {
            match app.selected_node() {
                Some(id) => ("Path".to_owned(), path_lines(app, id, self.theme)),
                None => ("Path".to_owned(), vec![]),
            }
        };
        let block = pane_block(title, false, self.theme);
        Paragraph::new(lines)
            .block(block)
            .wrap(Wrap { trim: false })
            .render(area, buf);
    }
}

fn label<'a>(name: &'a str, t: &Theme) -> Span<'a> {
    Span::styled(format!("{name:<8}"), t.header())
}

fn finding_lines<'a>(f: &'a Finding, t: &Theme, width: usize) -> Vec<Line<'a>> {
    let mut out = vec![
        Line::from(vec![
            Span::styled(
                format!("[{}] ", f.severity.as_str()),
                t.severity(f.severity),
            ),
            Span::styled(f.title.clone(), t.title()),
        ]),
        Line::from(Span::styled(f.summary.clone(), t.text())),
    ];
    if f.bytes > 0 && f.bloat {
        out.push(Line::from(vec![
            label("bytes", t),
            Span::styled(size(f.bytes), t.text()),
        ]));
    }
    for l in f.layers.iter().take(2) {
        out.push(Line::from(vec![
            label("layer", t),
            Span::styled(
                format!(
                    "{} ({}) {}",
                    l.layer,
                    size(l.bytes),
                    clip(&l.instruction, width.saturating_sub(30))
                ),
                t.text(),
            ),
        ]));
    }
    out.push(Line::from(vec![
        label("why", t),
        Span::styled(f.why.clone(), t.text()),
    ]));
    out.push(Line::from(vec![
        label("fix", t),
        Span::styled(f.fix.clone(), t.key()),
    ]));
    for i in f.items.iter().take(6) {
        let b = if i.bytes > 0 {
            format!("{:>10}  ", size(i.bytes))
        } else {
            String::new()
        };
        let note = if i.note.is_empty() {
            String::new()
        } else {
            format!("  ({})", i.note)
        };
        out.push(Line::from(Span::styled(
            format!("  {b}/{}{note}", i.name),
            t.dim(),
        )));
    }
    out
}

fn path_lines<'a>(app: &'a App, id: NodeId, t: &Theme) -> Vec<Line<'a>> {
    let tree = &app.ex.tree;
    let path = tree.path(id);
    let mut out = vec![Line::from(Span::styled(format!("/{path}"), t.title()))];
    if let Some(e) = tree.state_at(id, app.layer as u32) {
        let inv = &app.ex.inventory;
        let owner = match inv.owner_label(id) {
            Some(name) if inv.owner_is_one_package(id) => format!("  package {name}"),
            // A directory several packages fill: "shared by N packages".
            Some(shared) => format!("  {shared}"),
            None => String::new(),
        };
        out.push(Line::from(vec![
            label("kind", t),
            Span::styled(
                format!(
                    "{}  {}  mode {:o}  uid {} gid {}{owner}",
                    e.kind.as_str(),
                    size(app.view.bytes[id as usize]),
                    e.mode & 0o7777,
                    e.uid,
                    e.gid
                ),
                t.text(),
            ),
        ]));
    }
    let history: Vec<String> = tree
        .node(id)
        .events
        .iter()
        .filter(|e| !e.implicit)
        .map(|e| {
            let what = match e.change {
                Change::Added => "added",
                Change::Modified => "changed",
                Change::Deleted => "removed",
            };
            if e.change == Change::Deleted || e.kind == crate::core::entry::EntryKind::Dir {
                format!("{what} in layer {}", e.layer)
            } else {
                format!("{what} in layer {} ({})", e.layer, size(e.size))
            }
        })
        .collect();
    if !history.is_empty() {
        out.push(Line::from(vec![
            label("history", t),
            Span::styled(history.join(", "), t.text()),
        ]));
    }
    let hidden: u64 = tree
        .inodes
        .iter()
        .filter(|i| i.node == id && !i.visible())
        .map(|i| i.size)
        .sum();
    if hidden > 0 {
        out.push(Line::from(vec![
            label("wasted", t),
            Span::styled(
                format!("{} in copies a later layer hid", size(hidden)),
                t.wasted(),
            ),
        ]));
    }
    // The wasted and removed views size a directory by what they count: say so here, where
    // the kind line gives its whole size.
    let is_dir = crate::tui::treeview::is_dir(tree, &app.view, id);
    let counted = match app.filter {
        Filter::Wasted if is_dir => Some(("wasted", "under it, in copies later layers hid")),
        Filter::Removed => Some(("removed", "taken away by this layer")),
        _ => None,
    };
    if let Some((name, what)) = counted {
        out.push(Line::from(vec![
            label(name, t),
            Span::styled(format!("{} {what}", size(app.shown_bytes(id))), t.text()),
        ]));
    }
    if let Some(&fi) = app.finding_of.get(&id) {
        let f = &app.ex.findings.findings[fi];
        out.push(Line::from(vec![
            label("finding", t),
            Span::styled(
                format!("[{}] {}", f.severity.as_str(), f.title),
                t.severity(f.severity),
            ),
        ]));
        out.push(Line::from(vec![
            label("why", t),
            Span::styled(f.why.clone(), t.text()),
        ]));
        out.push(Line::from(vec![
            label("fix", t),
            Span::styled(f.fix.clone(), t.key()),
        ]));
    }
    out
}
