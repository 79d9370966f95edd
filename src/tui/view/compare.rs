//! The compare view, in parts that each draw one thing: the table of figures (its header of
//! image names pinned, the rest scrolled), the files that differ (a header naming the images
//! above their size columns, then the tree or the filter's matches), and the footer.

use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Direction, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Widget};

use super::search::clip_left;
use super::{clip, pane_block, size};
use crate::report::compare::variant_rows;
use crate::tui::action::{CompareAction, CompareSearchAction};
use crate::tui::compare::{CompareApp, ComparePane};
use crate::tui::theme::Theme;

/// Width of each image's size column in the file list, a space included.
const SIZE_W: usize = 12;
/// Width of the table's label column.
const LABEL_W: usize = 20;

/// Variants side by side on top; the files that differ below, searchable.
pub struct CompareView<'a> {
    pub app: &'a CompareApp,
    pub theme: &'a Theme,
}

/// Where the compare view's parts go.
pub struct CompareAreas {
    pub table: Rect,
    pub files: Rect,
    pub footer: Rect,
}

pub fn compare_areas(area: Rect, app: &CompareApp) -> CompareAreas {
    let rows = variant_rows(app.comparison()).len();
    let table_h = (rows as u16 + 2).min(area.height.saturating_sub(6) / 2 + 4);
    let parts = Layout::default()
        .direction(Direction::Vertical)
        .constraints([
            Constraint::Length(table_h),
            Constraint::Min(3),
            Constraint::Length(1),
        ])
        .split(area);
    CompareAreas {
        table: parts[0],
        files: parts[1],
        footer: parts[2],
    }
}

impl Widget for CompareView<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let a = compare_areas(area, self.app);
        FiguresTable { view: &self }.render(a.table, buf);
        FileList { view: &self }.render(a.files, buf);
        Footer { view: &self }.render(a.footer, buf);
    }
}

/// The figures of each image side by side; the first row (their names) stays while the rest
/// scrolls.
struct FiguresTable<'a> {
    view: &'a CompareView<'a>,
}

impl Widget for FiguresTable<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let (app, t) = (self.view.app, self.view.theme);
        let c = app.comparison();
        let rows = variant_rows(c);
        let n = c.variants.len().max(1);
        let col_w = ((area.width as usize).saturating_sub(LABEL_W + 2) / n).max(6);
        let room = (area.height as usize).saturating_sub(3);
        let figures = rows.len().saturating_sub(1);
        let first = app.table_offset().min(figures.saturating_sub(room));
        let line = |(label, vals): &(String, Vec<String>)| {
            let mut spans = vec![Span::styled(
                format!("{:<LABEL_W$}", clip(label, LABEL_W)),
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
        };
        let lines: Vec<Line> = rows
            .iter()
            .take(1)
            .chain(rows.iter().skip(1 + first).take(room))
            .map(line)
            .collect();
        let mut title = format!("Compare · {} images", c.variants.len());
        if figures > room {
            let last = (first + room).min(figures);
            title.push_str(&format!(" · rows {}–{last} of {figures}", first + 1));
        }
        Paragraph::new(lines)
            .block(pane_block(title, app.focus() == ComparePane::Table, t))
            .render(area, buf);
    }
}

/// The files that differ: a header row naming each image's column, then the difference
/// tree, or the filter's matches flat.
struct FileList<'a> {
    view: &'a CompareView<'a>,
}

impl FileList<'_> {
    /// The header: "path", then each image's name (its end, where tags differ) over its
    /// column.
    fn header(&self, path_w: usize) -> Line<'static> {
        let (app, t) = (self.view.app, self.view.theme);
        let mut spans = vec![Span::styled(format!("{:<path_w$}", "path"), t.header())];
        let refs: Vec<&str> = app
            .comparison()
            .variants
            .iter()
            .map(|v| v.reference.as_str())
            .collect();
        for name in column_labels(&refs) {
            let name = clip_left(&name, SIZE_W - 1);
            spans.push(Span::styled(format!("{name:>SIZE_W$}"), t.header()));
        }
        Line::from(spans)
    }

    /// One row: the label, then each image's bytes ("-" where it has none).
    fn row(&self, label: String, bytes: &[Option<u64>], selected: bool) -> Line<'static> {
        let t = self.view.theme;
        let style = if selected { t.selection() } else { t.text() };
        let mut spans = vec![Span::styled(label, style)];
        for b in bytes {
            let (text, st): (String, Style) = match b {
                Some(b) => (size(*b), style),
                None => ("-".to_owned(), if selected { style } else { t.dim() }),
            };
            spans.push(Span::styled(format!("{text:>SIZE_W$}"), st));
        }
        Line::from(spans)
    }

    fn tree_lines(&self, first: usize, visible: usize, path_w: usize) -> Vec<Line<'static>> {
        let app = self.view.app;
        app.rows()
            .iter()
            .enumerate()
            .skip(first)
            .take(visible)
            .map(|(k, &(id, depth))| {
                let node = &app.tree()[id];
                let glyph = if node.children.is_empty() {
                    "  "
                } else if app.is_open(id) {
                    "▾ "
                } else {
                    "▸ "
                };
                let label = format!("{}{glyph}{}", "  ".repeat(depth as usize), node.name);
                let label = format!("{:<w$}", clip(&label, path_w), w = path_w);
                self.row(label, &node.bytes, k == app.cursor())
            })
            .collect()
    }

    fn match_lines(&self, first: usize, visible: usize, path_w: usize) -> Vec<Line<'static>> {
        let app = self.view.app;
        let w = path_w.saturating_sub(1);
        app.shown()
            .iter()
            .enumerate()
            .skip(first)
            .take(visible)
            .map(|(k, &i)| {
                let p = &app.comparison().paths[i];
                let label = format!("/{:<w$}", clip(&p.path, w));
                self.row(label, &p.bytes, k == app.cursor())
            })
            .collect()
    }
}

impl Widget for FileList<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let (app, t) = (self.view.app, self.view.theme);
        let c = app.comparison();
        let title = if app.query().is_empty() {
            format!("Files that differ · {}", c.paths_differing)
        } else {
            format!(
                "Files that differ · {} match {:?}",
                app.shown().len(),
                app.query()
            )
        };
        let block = pane_block(title, app.focus() == ComparePane::Files, t);
        let inner = block.inner(area);
        block.render(area, buf);
        if inner.height == 0 {
            return;
        }
        let n = c.variants.len().max(1);
        let path_w = (inner.width as usize).saturating_sub(n * SIZE_W + 1);
        let visible = (inner.height as usize).saturating_sub(1);
        let first = app.cursor().saturating_sub(visible.saturating_sub(1));
        let mut lines = vec![self.header(path_w)];
        lines.extend(if app.in_tree() {
            self.tree_lines(first, visible, path_w)
        } else {
            self.match_lines(first, visible, path_w)
        });
        Paragraph::new(lines).render(inner, buf);
    }
}

/// The keys that work now, from the keymap.
struct Footer<'a> {
    view: &'a CompareView<'a>,
}

impl Widget for Footer<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let (app, t) = (self.view.app, self.view.theme);
        let km = app.keymap();
        let line = if app.searching() {
            Line::from(vec![
                Span::styled(" / ", t.key()),
                Span::styled(format!("{}▏", app.query()), t.text()),
                Span::styled(
                    format!(
                        "   {} keep  {} clear",
                        km.key_for(CompareSearchAction::Keep),
                        km.key_for(CompareSearchAction::Clear)
                    ),
                    t.dim(),
                ),
            ])
        } else {
            let k = |a: CompareAction| km.key_for(a);
            let mut keys = vec![(
                format!("{}{}", k(CompareAction::Up), k(CompareAction::Down)),
                if app.focus() == ComparePane::Table {
                    "scroll"
                } else {
                    "move"
                },
            )];
            if app.focus() == ComparePane::Files {
                keys.push((
                    format!("{}{}", k(CompareAction::Close), k(CompareAction::Open)),
                    "close/open",
                ));
            }
            keys.push((
                k(CompareAction::NextPane),
                if app.focus() == ComparePane::Table {
                    "files"
                } else {
                    "table"
                },
            ));
            keys.push((k(CompareAction::Search), "search"));
            keys.push((k(CompareAction::Quit), "quit"));
            let mut spans = Vec::new();
            for (i, (key, what)) in keys.into_iter().enumerate() {
                let gap = if i == 0 { "" } else { " " };
                spans.push(Span::styled(format!("{gap} {key}"), t.key()));
                spans.push(Span::styled(format!(" {what}"), t.dim()));
            }
            Line::from(spans)
        };
        Paragraph::new(line).render(area, buf);
    }
}

/// What tells the images apart in a narrow column: the shortest path suffix that does (as
/// the table's header), without the extension they all share (`/fx/a.tar`, `/fx/a-slim.tar`
/// → `a`, `a-slim`).
fn column_labels(refs: &[&str]) -> Vec<String> {
    let names =
        crate::format::unique_suffixes(&refs.iter().map(|r| (*r).to_owned()).collect::<Vec<_>>());
    fn ext(r: &str) -> &str {
        r.rfind('.').map_or("", |i| &r[i..])
    }
    let common_ext = match names.first() {
        Some(first) if names.len() > 1 && !ext(first).is_empty() => {
            let e = ext(first);
            if names.iter().all(|n| ext(n) == e && n.len() > e.len()) {
                e.len()
            } else {
                0
            }
        }
        _ => 0,
    };
    names
        .iter()
        .map(|n| n[..n.len() - common_ext].to_owned())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::column_labels;

    #[test]
    fn column_labels_drop_the_shared_directory_and_extension() {
        assert_eq!(
            column_labels(&["/fx/real-python.tar", "/fx/real-python-runnable.tar"]),
            vec!["real-python", "real-python-runnable"]
        );
        // Tags, or one image: as they are.
        assert_eq!(
            column_labels(&["app:slim", "app:distroless"]),
            vec!["app:slim", "app:distroless"]
        );
        assert_eq!(column_labels(&["/fx/a.tar"]), vec!["a.tar"]);
        // Different directories or extensions stay.
        assert_eq!(column_labels(&["/a/x.tar", "/b/x.tar"]), vec!["a/x", "b/x"]);
        assert_eq!(
            column_labels(&["/a/x.tar", "/a/x.oci"]),
            vec!["x.tar", "x.oci"]
        );
    }
}
