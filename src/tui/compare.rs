//! The compare view: the variants side by side, and every file that differs between them as
//! a collapsible tree (biggest gap first), or filtered flat as you type with the explorer's
//! matcher (`core::path_match`, fzf's query syntax). State and `handle` here;
//! drawing in `view/compare.rs`; keys in the keymap's `[compare]` and `[compare-search]`.

use crossterm::event::KeyEvent;

use crate::core::compare::Comparison;
use crate::core::path_match::{self, Matcher, Query};
use crate::tui::action::{CompareAction, CompareSearchAction};
use crate::tui::keymap::{Input, Keymap};
use crate::tui::search::delete_word;

/// One node of the difference tree: a directory (sums of what differs below it) or a file.
pub struct DiffNode {
    pub name: String,
    pub children: Vec<usize>,
    /// Per variant: bytes of the differing files at or below this node (None: none there).
    pub bytes: Vec<Option<u64>>,
    /// The file's row in `comparison.paths`, for files.
    pub row: Option<usize>,
}

/// The differing paths as a tree, biggest gap first at every level.
pub fn diff_tree(c: &Comparison) -> Vec<DiffNode> {
    let n = c.variants.len();
    let mut nodes = vec![DiffNode {
        name: String::new(),
        children: Vec::new(),
        bytes: vec![None; n],
        row: None,
    }];
    let mut index: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
    for (i, p) in c.paths.iter().enumerate() {
        let mut cur = 0;
        let mut prefix = String::new();
        let parts: Vec<&str> = p.path.split('/').collect();
        for (depth, part) in parts.iter().enumerate() {
            if !prefix.is_empty() {
                prefix.push('/');
            }
            prefix.push_str(part);
            let next = match index.get(&prefix) {
                Some(&id) => id,
                None => {
                    nodes.push(DiffNode {
                        name: (*part).to_owned(),
                        children: Vec::new(),
                        bytes: vec![None; n],
                        row: None,
                    });
                    let id = nodes.len() - 1;
                    nodes[cur].children.push(id);
                    index.insert(prefix.clone(), id);
                    id
                }
            };
            for (v, b) in p.bytes.iter().enumerate() {
                if let Some(b) = b {
                    let slot = &mut nodes[next].bytes[v];
                    *slot = Some(slot.unwrap_or(0) + b);
                }
            }
            if depth + 1 == parts.len() {
                nodes[next].row = Some(i);
            }
            cur = next;
        }
    }
    let spread = |b: &[Option<u64>]| {
        let vals: Vec<u64> = b.iter().map(|x| x.unwrap_or(0)).collect();
        vals.iter().max().unwrap_or(&0) - vals.iter().min().unwrap_or(&0)
    };
    let spreads: Vec<u64> = nodes.iter().map(|d| spread(&d.bytes)).collect();
    for d in &mut nodes {
        d.children
            .sort_by(|a, b| spreads[*b].cmp(&spreads[*a]).then(a.cmp(b)));
    }
    nodes
}

/// The compare view's two panes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ComparePane {
    /// The figures side by side.
    Table,
    /// The files that differ.
    Files,
}

/// The compare view's state: the comparison, the difference tree as open now, the filter
/// being typed, and how far the table of figures is scrolled.
pub struct CompareApp {
    pub(super) comparison: Comparison,
    pub(super) keymap: Keymap,
    pub(super) tree: Vec<DiffNode>,
    pub(super) expanded: std::collections::HashSet<usize>,
    /// The tree's rows (node, depth) as expanded now.
    pub(super) rows: Vec<(usize, u16)>,
    /// Indexes into `comparison.paths` shown now (all, or the search's matches, best first).
    pub(super) shown: Vec<usize>,
    pub(super) cursor: usize,
    pub(super) focus: ComparePane,
    /// The table's first row below its pinned header (the images' names).
    pub(super) table_offset: usize,
    /// Rows of figures the table shows below its header, set from the screen's size.
    pub(super) table_rows: usize,
    pub(super) searching: bool,
    pub(super) query: String,
    /// Rows the file list shows, for paging, set from the screen's size.
    pub(super) page: usize,
    pub(super) quit: bool,
}

impl CompareApp {
    /// With the built-in keys.
    pub fn new(comparison: Comparison) -> CompareApp {
        CompareApp::with_keymap(comparison, Keymap::builtin())
    }

    pub fn with_keymap(comparison: Comparison, keymap: Keymap) -> CompareApp {
        let shown = (0..comparison.paths.len()).collect();
        let tree = diff_tree(&comparison);
        let mut app = CompareApp {
            comparison,
            keymap,
            tree,
            expanded: Default::default(),
            rows: Vec::new(),
            shown,
            cursor: 0,
            focus: ComparePane::Files,
            table_offset: 0,
            table_rows: usize::MAX,
            searching: false,
            query: String::new(),
            page: 10,
            quit: false,
        };
        app.refresh_rows();
        app
    }

    pub fn keymap(&self) -> &Keymap {
        &self.keymap
    }

    pub fn comparison(&self) -> &Comparison {
        &self.comparison
    }

    /// The difference tree's nodes (0 is the root).
    pub fn tree(&self) -> &[DiffNode] {
        &self.tree
    }

    /// The tree's rows (node, depth) as open now.
    pub fn rows(&self) -> &[(usize, u16)] {
        &self.rows
    }

    /// The files the filter keeps, best first (indexes into `comparison().paths`).
    pub fn shown(&self) -> &[usize] {
        &self.shown
    }

    pub fn query(&self) -> &str {
        &self.query
    }

    pub fn cursor(&self) -> usize {
        self.cursor
    }

    pub fn focus(&self) -> ComparePane {
        self.focus
    }

    /// The table's first row of figures shown (below the images' names).
    pub fn table_offset(&self) -> usize {
        self.table_offset
    }

    pub fn quits(&self) -> bool {
        self.quit
    }

    /// Sets the paging of both panes from the screen's size.
    pub fn resize(&mut self, area: ratatui::layout::Rect) {
        let areas = super::view::compare_areas(area, self);
        // Borders, and the header row each pane pins.
        self.table_rows = areas.table.height.saturating_sub(3) as usize;
        self.page = areas.files.height.saturating_sub(3).max(1) as usize;
        self.table_offset = self.table_offset.min(self.table_max_offset());
    }

    /// Searching shows matching files flat; otherwise the tree.
    pub fn in_tree(&self) -> bool {
        self.query.trim().is_empty()
    }

    fn len(&self) -> usize {
        if self.in_tree() {
            self.rows.len()
        } else {
            self.shown.len()
        }
    }

    fn refresh_rows(&mut self) {
        let mut out = Vec::new();
        let mut stack: Vec<(usize, u16)> = self.tree[0]
            .children
            .iter()
            .rev()
            .map(|&c| (c, 0))
            .collect();
        while let Some((id, depth)) = stack.pop() {
            out.push((id, depth));
            if self.expanded.contains(&id) {
                stack.extend(self.tree[id].children.iter().rev().map(|&c| (c, depth + 1)));
            }
        }
        self.rows = out;
        self.cursor = self.cursor.min(self.rows.len().saturating_sub(1));
    }

    fn set_open(&mut self, open: bool) {
        if !self.in_tree() {
            return;
        }
        let Some(&(id, _)) = self.rows.get(self.cursor) else {
            return;
        };
        if self.tree[id].children.is_empty() {
            return;
        }
        let changed = if open {
            self.expanded.insert(id)
        } else {
            self.expanded.remove(&id)
        };
        if changed {
            self.refresh_rows();
        }
    }

    /// Whether a directory of the difference tree is open.
    pub fn is_open(&self, id: usize) -> bool {
        self.expanded.contains(&id)
    }

    /// Typing a filter (the query takes the keys).
    pub fn searching(&self) -> bool {
        self.searching
    }

    /// One key, through the keymap section of what has the keys: the filter being typed, or
    /// the panes.
    pub fn handle_key(&mut self, key: KeyEvent) {
        if self.searching {
            match self.keymap.input::<CompareSearchAction>(key) {
                Some(Input::Action(a)) => self.handle_search(a),
                Some(Input::Char(c)) => {
                    self.query.push(c);
                    self.filter();
                }
                None => {}
            }
        } else if let Some(a) = self.keymap.action::<CompareAction>(key) {
            self.handle(a);
        }
    }

    /// The compare view's `handle`: one action of its keymap section.
    pub fn handle(&mut self, action: CompareAction) {
        let page = self.page.max(1) as i64;
        match action {
            CompareAction::Quit => self.quit = true,
            CompareAction::Search => {
                self.searching = true;
                self.focus = ComparePane::Files;
            }
            CompareAction::NextPane => {
                self.focus = match self.focus {
                    ComparePane::Table => ComparePane::Files,
                    ComparePane::Files => ComparePane::Table,
                }
            }
            CompareAction::Up => self.move_by(-1),
            CompareAction::Down => self.move_by(1),
            CompareAction::PageUp => self.move_by(-page),
            CompareAction::PageDown => self.move_by(page),
            CompareAction::Top => self.move_by(i64::MIN / 2),
            CompareAction::Bottom => self.move_by(i64::MAX / 2),
            CompareAction::Open => self.set_open(true),
            CompareAction::Close => self.set_open(false),
            CompareAction::Toggle => {
                let open = self
                    .rows
                    .get(self.cursor)
                    .is_some_and(|(id, _)| !self.expanded.contains(id));
                self.set_open(open);
            }
        }
    }

    /// One action of the file filter being typed.
    pub fn handle_search(&mut self, action: CompareSearchAction) {
        match action {
            CompareSearchAction::Clear => {
                self.searching = false;
                self.query.clear();
                self.filter();
                self.refresh_rows();
            }
            CompareSearchAction::Keep => self.searching = false,
            CompareSearchAction::DeleteChar => {
                self.query.pop();
                self.filter();
            }
            CompareSearchAction::Quit => self.quit = true,
            CompareSearchAction::ClearQuery => {
                self.query.clear();
                self.filter();
            }
            CompareSearchAction::DeleteWord => {
                delete_word(&mut self.query);
                self.filter();
            }
            CompareSearchAction::Up => self.move_by(-1),
            CompareSearchAction::Down => self.move_by(1),
        }
    }

    /// The table's last offset: its last row of figures at the bottom of the pane.
    fn table_max_offset(&self) -> usize {
        let figures = crate::report::compare::variant_rows(&self.comparison)
            .len()
            .saturating_sub(1);
        figures.saturating_sub(self.table_rows)
    }

    /// Moves the cursor of the pane in focus (the table scrolls).
    fn move_by(&mut self, d: i64) {
        let (at, len) = match self.focus {
            ComparePane::Table => (self.table_offset, self.table_max_offset() + 1),
            ComparePane::Files => (self.cursor, self.len()),
        };
        if len == 0 {
            return;
        }
        let next = (at as i64).saturating_add(d).clamp(0, len as i64 - 1) as usize;
        match self.focus {
            ComparePane::Table => self.table_offset = next,
            ComparePane::Files => self.cursor = next,
        }
    }

    fn filter(&mut self) {
        self.cursor = 0;
        let query = Query::parse(&self.query);
        if query.is_empty() {
            self.shown = (0..self.comparison.paths.len()).collect();
            return;
        }
        let matcher = Matcher::new(query);
        let paths = &self.comparison.paths;
        let mut scored: Vec<_> = paths
            .iter()
            .enumerate()
            .filter_map(|(i, p)| matcher.score_path(&p.path).map(|s| (s, i)))
            .collect();
        path_match::rank(&mut scored, |&i| paths[i].path.as_str());
        self.shown = scored.into_iter().map(|(_, i)| i).collect();
    }
}
