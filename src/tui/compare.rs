//! The compare view: the variants side by side, and every file that differs between them as
//! a collapsible tree (biggest gap first), or filtered flat as you type with the explorer's
//! matcher (`core::path_match`, fzf's query syntax). State and update here;
//! drawing in `view/compare.rs`.

use crate::core::compare::Comparison;
use crate::core::path_match::{self, Matcher, Query};
use crate::tui::search::delete_word;
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

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

pub struct CompareApp {
    pub comparison: Comparison,
    pub tree: Vec<DiffNode>,
    pub expanded: std::collections::HashSet<usize>,
    /// The tree's rows (node, depth) as expanded now.
    pub rows: Vec<(usize, u16)>,
    /// Indexes into `comparison.paths` shown now (all, or the search's matches, best first).
    pub shown: Vec<usize>,
    pub cursor: usize,
    pub searching: bool,
    pub query: String,
    /// Rows the list showed last frame, for paging.
    pub page: usize,
    pub quit: bool,
}

impl CompareApp {
    pub fn new(comparison: Comparison) -> CompareApp {
        let shown = (0..comparison.paths.len()).collect();
        let tree = diff_tree(&comparison);
        let mut app = CompareApp {
            comparison,
            tree,
            expanded: Default::default(),
            rows: Vec::new(),
            shown,
            cursor: 0,
            searching: false,
            query: String::new(),
            page: 10,
            quit: false,
        };
        app.refresh_rows();
        app
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

    pub fn handle_key(&mut self, key: KeyEvent) {
        let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
        if self.searching {
            match key.code {
                KeyCode::Esc => {
                    self.searching = false;
                    self.query.clear();
                    self.filter();
                    self.refresh_rows();
                }
                KeyCode::Enter => self.searching = false,
                KeyCode::Backspace => {
                    self.query.pop();
                    self.filter();
                }
                KeyCode::Char('c') if ctrl => self.quit = true,
                KeyCode::Char('u') if ctrl => {
                    self.query.clear();
                    self.filter();
                }
                KeyCode::Char('w') if ctrl => {
                    delete_word(&mut self.query);
                    self.filter();
                }
                KeyCode::Char(c) if !ctrl => {
                    self.query.push(c);
                    self.filter();
                }
                KeyCode::Up => self.move_by(-1),
                KeyCode::Down => self.move_by(1),
                _ => {}
            }
            return;
        }
        match key.code {
            KeyCode::Char('q') | KeyCode::Esc => self.quit = true,
            KeyCode::Char('c') if ctrl => self.quit = true,
            KeyCode::Char('/') | KeyCode::Char('f') if key.code == KeyCode::Char('/') || ctrl => {
                self.searching = true
            }
            KeyCode::Down | KeyCode::Char('j') => self.move_by(1),
            KeyCode::Up | KeyCode::Char('k') => self.move_by(-1),
            KeyCode::PageDown => self.move_by(self.page as i64),
            KeyCode::PageUp => self.move_by(-(self.page as i64)),
            KeyCode::Home | KeyCode::Char('g') => self.cursor = 0,
            KeyCode::End | KeyCode::Char('G') => self.cursor = self.len().saturating_sub(1),
            KeyCode::Right | KeyCode::Char('l') => self.set_open(true),
            KeyCode::Left | KeyCode::Char('h') => self.set_open(false),
            KeyCode::Enter | KeyCode::Char(' ') => {
                let open = self
                    .rows
                    .get(self.cursor)
                    .is_some_and(|(id, _)| !self.expanded.contains(id));
                self.set_open(open);
            }
            _ => {}
        }
    }

    fn move_by(&mut self, d: i64) {
        let len = self.len();
        if len == 0 {
            return;
        }
        self.cursor = (self.cursor as i64 + d).clamp(0, len as i64 - 1) as usize;
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
