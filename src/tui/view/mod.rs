//! Drawing. Every pane is a widget over `&App` that reads state and never changes it; `draw`
//! lays them out. Only the rows that fit are rendered, so a frame costs the same on 200,000
//! paths as on 20.

mod compare;
mod details;
mod findings;
mod help;
mod layers;
mod search;
mod tree;
mod trim;

pub use compare::{compare_areas, CompareAreas, CompareView};
pub use tree::first_row;

use humansize::{format_size, BINARY};
use ratatui::layout::{Constraint, Direction, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph};
use ratatui::Frame;

use super::action::{Action, FinishAction, SearchAction, TrimAction};
use super::app::{App, Mode, Pane};
use super::theme::Theme;

pub fn size(bytes: u64) -> String {
    format_size(bytes, BINARY)
}

/// A pane's frame: title, and a brighter border when it has the focus.
pub(crate) fn pane_block<'a>(title: String, focused: bool, theme: &Theme) -> Block<'a> {
    Block::default()
        .borders(Borders::ALL)
        .border_style(theme.border(focused))
        .title(Span::styled(format!(" {title} "), theme.title()))
}

pub use crate::format::clip as clip_text;
pub(crate) use crate::format::clip;

pub struct Areas {
    pub header: Rect,
    pub layers: Rect,
    pub findings: Rect,
    pub tree: Rect,
    pub details: Rect,
    pub footer: Rect,
}

pub fn areas(full: Rect, app: &App) -> Areas {
    let rows = Layout::default()
        .direction(Direction::Vertical)
        .constraints([
            Constraint::Length(1),
            Constraint::Min(6),
            Constraint::Length(1),
        ])
        .split(full);
    // A wide terminal gives the tree the room; a narrow one keeps the layers readable.
    let left_pct = if full.width >= 140 { 38 } else { 42 };
    let cols = Layout::default()
        .direction(Direction::Horizontal)
        .constraints([
            Constraint::Percentage(left_pct),
            Constraint::Percentage(100 - left_pct),
        ])
        .split(rows[1]);
    let layer_rows = (app.image.layers.len() as u16 + 3)
        .min(cols[0].height / 2)
        .max(5);
    let left = Layout::default()
        .direction(Direction::Vertical)
        .constraints([Constraint::Length(layer_rows), Constraint::Min(3)])
        .split(cols[0]);
    let right = Layout::default()
        .direction(Direction::Vertical)
        .constraints([Constraint::Percentage(62), Constraint::Percentage(38)])
        .split(cols[1]);
    Areas {
        header: rows[0],
        layers: left[0],
        findings: left[1],
        tree: right[0],
        details: right[1],
        footer: rows[2],
    }
}

pub fn draw(frame: &mut Frame, app: &App, theme: &Theme) {
    let a = areas(frame.area(), app);
    frame.render_widget(header(app, theme, a.header.width), a.header);
    frame.render_widget(layers::LayersPane { app, theme }, a.layers);
    frame.render_widget(findings::FindingsPane { app, theme }, a.findings);
    frame.render_widget(tree::TreePane { app, theme }, a.tree);
    frame.render_widget(details::DetailsPane { app, theme }, a.details);
    frame.render_widget(footer(app, theme), a.footer);
    match app.mode {
        Mode::Help => frame.render_widget(help::HelpOverlay { app, theme }, frame.area()),
        Mode::Search => frame.render_widget(search::SearchOverlay { app, theme }, frame.area()),
        Mode::Trim => frame.render_widget(trim::TrimOverlay { app, theme }, frame.area()),
        Mode::Normal => {}
    }
}

fn header<'a>(app: &'a App, theme: &Theme, width: u16) -> Paragraph<'a> {
    let t = &app.ex.analysis.totals;
    // Figures in display order, each with its rank: when the line is wider than the screen
    // the lowest-ranked figures go first, so an 80-column terminal still shows the size and
    // what can be reclaimed instead of a line cut mid-word.
    let figures = [
        (0, size(t.image_bytes)),
        (4, format!("{} layers", t.layers)),
        (2, format!("wasted {}", size(t.wasted_bytes))),
        (3, format!("efficiency {:.1}%", t.efficiency * 100.0)),
        (
            1,
            format!("reclaimable {}", size(app.ex.findings.reclaimable_bytes)),
        ),
    ];
    let brand = " pyslim ";
    let reference = app.image.reference.clone();
    let text = |brand: &str, keep: usize| {
        let kept: Vec<&str> = figures
            .iter()
            .filter(|(rank, _)| *rank < keep)
            .map(|(_, f)| f.as_str())
            .collect();
        let stats = format!("  {}", kept.join(" · "));
        let len = brand.chars().count() + reference.chars().count() + stats.chars().count();
        (stats, len)
    };
    let width = width as usize;
    let mut chosen = (brand, text(brand, figures.len()).0);
    'fit: for b in [brand, " "] {
        for keep in (1..=figures.len()).rev() {
            let (stats, len) = text(b, keep);
            if len <= width {
                chosen = (b, stats);
                break 'fit;
            }
        }
    }
    let line = Line::from(vec![
        Span::styled(chosen.0, theme.title()),
        Span::styled(reference, theme.header()),
        Span::styled(chosen.1, theme.text()),
    ]);
    Paragraph::new(line)
}

/// The keys that work now, for the pane in focus.
fn footer<'a>(app: &'a App, theme: &Theme) -> Paragraph<'a> {
    let k = |a: Action| app.keymap.key_for(a);
    let km = &app.keymap;
    let mut parts: Vec<(String, &str)> = match app.mode {
        Mode::Search => vec![
            (km.key_for(SearchAction::Open), "open"),
            (
                format!(
                    "{}{}",
                    km.key_for(SearchAction::Up),
                    km.key_for(SearchAction::Down)
                ),
                "choose",
            ),
            (km.key_for(SearchAction::Close), "close"),
        ],
        Mode::Help => vec![("any key".into(), "close")],
        Mode::Trim if app.trim.as_ref().is_some_and(|t| t.finishing) => vec![
            (km.key_for(FinishAction::Write), "write"),
            (km.key_for(FinishAction::Back), "back"),
        ],
        Mode::Trim => vec![
            (km.key_for(TrimAction::Accept), "accept"),
            (km.key_for(TrimAction::Skip), "skip"),
            (km.key_for(TrimAction::Undo), "undo"),
            (km.key_for(TrimAction::Finish), "finish"),
        ],
        Mode::Normal => {
            let mut v = vec![(k(Action::NextPane), "pane")];
            match app.focus {
                Pane::Layers => v.push((format!("{}{}", k(Action::Up), k(Action::Down)), "layer")),
                Pane::Tree => {
                    v.push((k(Action::Toggle), "open"));
                    v.push((
                        k(Action::Scope),
                        if app.view.scope == super::treeview::Scope::LayerOnly {
                            "image"
                        } else {
                            "layer only"
                        },
                    ));
                    v.push((
                        format!(
                            "{}{}{}{}{}",
                            k(Action::FilterAdded),
                            k(Action::FilterModified),
                            k(Action::FilterRemoved),
                            k(Action::FilterBloat),
                            k(Action::FilterWasted)
                        ),
                        "filter",
                    ));
                    v.push((k(Action::MinSize), "min size"));
                    v.push((k(Action::Sort), "sort"));
                }
                Pane::Findings => v.push((k(Action::Toggle), "show path")),
            }
            v.push((
                format!("{}{}", k(Action::PrevLayer), k(Action::NextLayer)),
                "layer",
            ));
            v.push((k(Action::Search), "search"));
            v.push((k(Action::Trim), "trim"));
            v.push((k(Action::Help), "help"));
            v.push((k(Action::Quit), "quit"));
            v
        }
    };
    let mut spans = Vec::new();
    for (key, what) in parts.drain(..) {
        spans.push(Span::styled(format!(" {key}"), theme.key()));
        spans.push(Span::styled(format!(" {what} "), theme.dim()));
    }
    Paragraph::new(Line::from(spans))
}

/// Where a mouse click or wheel lands: the pane and the list row under it.
pub fn hit(full: Rect, app: &App, x: u16, y: u16) -> Option<(Pane, Option<usize>)> {
    let a = areas(full, app);
    let inside = |r: Rect| x >= r.x && x < r.x + r.width && y >= r.y && y < r.y + r.height;
    // Rows start below the border (and, for layers, below the column header).
    let row = |r: Rect, skip: u16| {
        (y >= r.y + skip && y + 1 < r.y + r.height).then(|| (y - r.y - skip) as usize)
    };
    if inside(a.layers) {
        let rows = a.layers.height.saturating_sub(3) as usize;
        let first = app.layer.saturating_sub(rows.saturating_sub(1));
        Some((Pane::Layers, row(a.layers, 2).map(|r| first + r)))
    } else if inside(a.tree) {
        let rows = a.tree.height.saturating_sub(2) as usize;
        let first = first_row(app.tree_cursor, app.rows.len(), rows);
        Some((Pane::Tree, row(a.tree, 1).map(|r| first + r)))
    } else if inside(a.findings) {
        let rows = a.findings.height.saturating_sub(2) as usize;
        let first = app.finding_cursor.saturating_sub(rows.saturating_sub(1));
        Some((Pane::Findings, row(a.findings, 1).map(|r| first + r)))
    } else {
        None
    }
}
