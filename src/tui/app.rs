//! The explorer's state and how actions change it. No drawing here (view/ draws), no I/O:
//! the whole explorer can be driven by key events in tests. The search keys (app/search.rs)
//! and the trimming session's keys (app/trim.rs) are `impl App` blocks of their own.

mod search;
mod trim;

pub use self::search::SearchState;
pub use self::trim::{Effect, TrimState};

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use rustc_hash::{FxHashMap, FxHashSet};

use super::action::Action;
use super::keymap::Keymap;
use super::search::PathIndex;
use super::treeview::{self, Filter, LayerView, Row, Scope, SortBy, MIN_SIZES};
use crate::core::findings::RuleSet;
use crate::core::image::Image;
use crate::core::tree::{NodeId, ROOT};
use crate::core::Examination;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pane {
    Layers,
    Tree,
    Findings,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Normal,
    Search,
    Help,
    Trim,
}

pub struct App {
    pub image: Image,
    pub ex: Examination,
    pub keymap: Keymap,
    pub focus: Pane,
    pub mode: Mode,
    pub layer: usize,
    pub scope: Scope,
    pub filter: Filter,
    pub min_size: u64,
    pub sort: SortBy,
    pub expanded: FxHashSet<NodeId>,
    pub view: LayerView,
    pub rows: Vec<Row>,
    pub tree_cursor: usize,
    pub layer_cursor: usize,
    pub finding_cursor: usize,
    /// Rows the tree pane showed last frame, for paging (set by the view's caller).
    pub page: usize,
    pub search: SearchState,
    index: Option<PathIndex>,
    /// Node → index of the finding that claims it.
    pub finding_of: FxHashMap<NodeId, usize>,
    pub bloat: FxHashSet<NodeId>,
    pub wasted: FxHashSet<NodeId>,
    pub quit: bool,
    pub rules: RuleSet,
    /// (name, text) of the user's Dockerfile, when known.
    pub dockerfile: Option<(String, String)>,
    pub trim: Option<TrimState>,
    /// Set by `update`, taken and carried out by the loop.
    pub effect: Option<Effect>,
    /// Prefix the trim outputs start from.
    pub trim_prefix: String,
    /// The explorer runs only for a trimming session (`pyslim trim`): leaving it quits.
    pub trim_only: bool,
}

impl App {
    pub fn new(image: Image, ex: Examination, keymap: Keymap) -> App {
        let mut finding_of = FxHashMap::default();
        for (i, f) in ex.findings.findings.iter().enumerate() {
            for &n in &f.files {
                finding_of.entry(n).or_insert(i);
            }
            for item in &f.items {
                if let Some(id) = ex.tree.lookup(&item.name) {
                    finding_of.entry(id).or_insert(i);
                }
            }
        }
        let bloat: FxHashSet<NodeId> = finding_of.keys().copied().collect();
        let wasted: FxHashSet<NodeId> = ex
            .tree
            .inodes
            .iter()
            .filter(|i| !i.visible() && i.size > 0)
            .map(|i| i.node)
            .collect();
        let last = image.layers.len().saturating_sub(1);
        let view = LayerView::compute(&ex.tree, last as u32, Scope::UpToLayer);
        let mut app = App {
            image,
            ex,
            keymap,
            focus: Pane::Layers,
            mode: Mode::Normal,
            layer: last,
            scope: Scope::UpToLayer,
            filter: Filter::All,
            min_size: 0,
            sort: SortBy::Size,
            expanded: FxHashSet::default(),
            view,
            rows: Vec::new(),
            tree_cursor: 0,
            layer_cursor: last,
            finding_cursor: 0,
            page: 10,
            search: SearchState::default(),
            index: None,
            finding_of,
            bloat,
            wasted,
            quit: false,
            rules: RuleSet::builtin().unwrap_or(RuleSet { rules: Vec::new() }),
            dockerfile: None,
            trim: None,
            effect: None,
            trim_prefix: "pyslim-trim".into(),
            trim_only: false,
        };
        app.refresh_rows();
        app
    }

    /// The tree node under the cursor.
    pub fn selected_node(&self) -> Option<NodeId> {
        self.rows.get(self.tree_cursor).map(|r| r.node)
    }

    fn refresh_view(&mut self) {
        self.view = LayerView::compute(&self.ex.tree, self.layer as u32, self.scope);
        self.refresh_rows();
    }

    fn refresh_rows(&mut self) {
        let keep_node = self.selected_node();
        let keep = treeview::filtered(
            &self.ex.tree,
            &self.view,
            self.filter,
            self.min_size,
            &self.bloat,
            &self.wasted,
        );
        self.rows = treeview::rows(
            &self.ex.tree,
            &self.view,
            keep.as_deref(),
            &self.expanded,
            self.sort,
        );
        self.tree_cursor = keep_node
            .and_then(|n| self.rows.iter().position(|r| r.node == n))
            .unwrap_or(self.tree_cursor.min(self.rows.len().saturating_sub(1)));
    }

    pub fn handle_key(&mut self, key: KeyEvent) {
        // Ctrl-C quits from anywhere: the terminal is raw, so it arrives as a key.
        if key.code == KeyCode::Char('c') && key.modifiers.contains(KeyModifiers::CONTROL) {
            self.quit = true;
            return;
        }
        match self.mode {
            Mode::Search => self.search_key(key),
            Mode::Trim => self.trim_key(key),
            Mode::Help => {
                if matches!(self.keymap.action(key), Some(Action::Quit))
                    && key.code != KeyCode::Char('q')
                {
                    self.quit = true;
                }
                // Any key closes the help.
                self.mode = Mode::Normal;
            }
            Mode::Normal => {
                if let Some(a) = self.keymap.action(key) {
                    self.update(a);
                }
            }
        }
    }

    pub fn update(&mut self, action: Action) {
        match action {
            Action::Quit => self.quit = true,
            Action::Help => self.mode = Mode::Help,
            Action::NextPane => {
                self.focus = match self.focus {
                    Pane::Layers => Pane::Tree,
                    Pane::Tree => Pane::Findings,
                    Pane::Findings => Pane::Layers,
                }
            }
            Action::PrevPane => {
                self.focus = match self.focus {
                    Pane::Layers => Pane::Findings,
                    Pane::Tree => Pane::Layers,
                    Pane::Findings => Pane::Tree,
                }
            }
            Action::Up => self.move_cursor(-1),
            Action::Down => self.move_cursor(1),
            Action::PageUp => self.move_cursor(-(self.page.max(1) as i64)),
            Action::PageDown => self.move_cursor(self.page.max(1) as i64),
            Action::Top => self.move_cursor(i64::MIN / 2),
            Action::Bottom => self.move_cursor(i64::MAX / 2),
            Action::PrevLayer => self.select_layer(self.layer.saturating_sub(1)),
            Action::NextLayer => {
                self.select_layer((self.layer + 1).min(self.image.layers.len().saturating_sub(1)))
            }
            Action::Collapse => self.collapse(),
            Action::Expand => self.expand(),
            Action::Toggle => self.toggle(),
            Action::ExpandAll => {
                self.expanded = (1..self.ex.tree.nodes.len() as NodeId)
                    .filter(|&id| !self.ex.tree.node(id).children.is_empty())
                    .collect();
                self.refresh_rows();
            }
            Action::CollapseAll => {
                self.expanded.clear();
                self.refresh_rows();
            }
            Action::Scope => {
                self.scope = match self.scope {
                    Scope::UpToLayer => Scope::LayerOnly,
                    Scope::LayerOnly => Scope::UpToLayer,
                };
                self.refresh_view();
            }
            Action::FilterAdded => self.set_filter(Filter::Added),
            Action::FilterModified => self.set_filter(Filter::Modified),
            Action::FilterRemoved => self.set_filter(Filter::Removed),
            Action::FilterBloat => self.set_filter(Filter::Bloat),
            Action::FilterWasted => self.set_filter(Filter::Wasted),
            Action::ClearFilter => {
                self.filter = Filter::All;
                self.min_size = 0;
                self.refresh_rows();
            }
            Action::MinSize => {
                let pos = MIN_SIZES
                    .iter()
                    .position(|&m| m == self.min_size)
                    .unwrap_or(0);
                self.min_size = MIN_SIZES[(pos + 1) % MIN_SIZES.len()];
                self.refresh_rows();
            }
            Action::Sort => {
                self.sort = match self.sort {
                    SortBy::Size => SortBy::Name,
                    SortBy::Name => SortBy::Size,
                };
                self.refresh_rows();
            }
            Action::Trim => self.start_trim(),
            Action::Search => {
                if self.index.is_none() {
                    self.index = Some(PathIndex::build(&self.ex.tree));
                }
                self.mode = Mode::Search;
            }
        }
    }

    fn set_filter(&mut self, f: Filter) {
        // The same filter again turns it off, as dive's toggles do.
        self.filter = if self.filter == f { Filter::All } else { f };
        self.refresh_rows();
    }

    fn select_layer(&mut self, layer: usize) {
        self.layer = layer;
        self.layer_cursor = layer;
        self.refresh_view();
    }

    fn move_cursor(&mut self, delta: i64) {
        let step = |cur: usize, len: usize| -> usize {
            if len == 0 {
                return 0;
            }
            (cur as i64 + delta).clamp(0, len as i64 - 1) as usize
        };
        match self.focus {
            Pane::Layers => {
                let next = step(self.layer_cursor, self.image.layers.len());
                if next != self.layer {
                    self.select_layer(next);
                }
            }
            Pane::Tree => self.tree_cursor = step(self.tree_cursor, self.rows.len()),
            Pane::Findings => {
                self.finding_cursor = step(self.finding_cursor, self.ex.findings.findings.len())
            }
        }
    }

    fn collapse(&mut self) {
        if self.focus == Pane::Layers {
            return self.update(Action::PrevLayer);
        }
        let Some(id) = self.selected_node() else {
            return;
        };
        if self.expanded.remove(&id) {
            self.refresh_rows();
        } else {
            // Already closed: go to the parent, as file managers do.
            let parent = self.ex.tree.node(id).parent;
            if parent != ROOT {
                if let Some(pos) = self.rows.iter().position(|r| r.node == parent) {
                    self.tree_cursor = pos;
                }
            }
        }
    }

    fn expand(&mut self) {
        if self.focus == Pane::Layers {
            return self.update(Action::NextLayer);
        }
        if let Some(id) = self.selected_node() {
            if treeview::is_dir(&self.ex.tree, &self.view, id) && self.expanded.insert(id) {
                self.refresh_rows();
            }
        }
    }

    fn toggle(&mut self) {
        match self.focus {
            Pane::Findings => self.show_finding(),
            Pane::Layers => self.focus = Pane::Tree,
            Pane::Tree => {
                if let Some(id) = self.selected_node() {
                    if !self.expanded.remove(&id) && treeview::is_dir(&self.ex.tree, &self.view, id)
                    {
                        self.expanded.insert(id);
                    }
                    self.refresh_rows();
                }
            }
        }
    }

    /// Opens the tree at the selected finding's largest path.
    fn show_finding(&mut self) {
        let Some(f) = self.ex.findings.findings.get(self.finding_cursor) else {
            return;
        };
        let target = f
            .items
            .iter()
            .find_map(|i| self.ex.tree.lookup(&i.name))
            .or_else(|| f.files.first().copied());
        if let Some(id) = target {
            self.reveal(id);
        }
    }

    /// Shows a node in the final image's tree: last layer, ancestors expanded, cursor on it.
    pub fn reveal(&mut self, id: NodeId) {
        self.filter = Filter::All;
        self.min_size = 0;
        self.scope = Scope::UpToLayer;
        // The last layer that touched it (a deleted path is shown where it was deleted).
        let layer = self
            .ex
            .tree
            .node(id)
            .events
            .last()
            .map(|e| e.layer as usize)
            .unwrap_or(self.layer);
        self.layer = if self.ex.tree.is_visible(id) {
            self.image.layers.len().saturating_sub(1)
        } else {
            layer
        };
        self.layer_cursor = self.layer;
        let mut cur = self.ex.tree.node(id).parent;
        while cur != ROOT {
            self.expanded.insert(cur);
            cur = self.ex.tree.node(cur).parent;
        }
        self.view = LayerView::compute(&self.ex.tree, self.layer as u32, self.scope);
        self.refresh_rows();
        if let Some(pos) = self.rows.iter().position(|r| r.node == id) {
            self.tree_cursor = pos;
        }
        self.focus = Pane::Tree;
    }

    /// A click: focus the pane under the mouse and select the row clicked.
    pub fn click(&mut self, pane: Pane, row: Option<usize>) {
        if self.mode != Mode::Normal {
            return;
        }
        self.focus = pane;
        let Some(row) = row else { return };
        match pane {
            Pane::Layers if row < self.image.layers.len() => self.select_layer(row),
            Pane::Tree if row < self.rows.len() => {
                if self.tree_cursor == row {
                    self.toggle();
                } else {
                    self.tree_cursor = row;
                }
            }
            Pane::Findings if row < self.ex.findings.findings.len() => self.finding_cursor = row,
            _ => {}
        }
    }

    /// The wheel scrolls the pane under the mouse.
    pub fn scroll(&mut self, pane: Pane, down: bool) {
        if self.mode != Mode::Normal {
            return;
        }
        self.focus = pane;
        self.update(if down { Action::Down } else { Action::Up });
    }
}
