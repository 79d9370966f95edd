//! The explorer: its state and how actions change it. No drawing here (view/ draws), no I/O
//! (effects.rs carries out what it asks for): the whole explorer can be driven by key events
//! in tests. The search (app/search.rs) and the trimming session (app/trim.rs) are screens of
//! their own over it, each with its state, its keymap section and its `handle`.

mod search;
mod tree;
mod trim;

pub use self::search::{SearchOutcome, SearchState};
pub use self::trim::{TrimContext, TrimOutcome, TrimState};
pub use super::effects::Effect;

use crossterm::event::{KeyEvent, KeyModifiers};
use rustc_hash::{FxHashMap, FxHashSet};

use super::action::Action;
use super::keymap::Keymap;
use super::treeview::{self, Filter, HiddenBytes, LayerView, Row, Scope, Shown, SortBy, MIN_SIZES};
use crate::core::findings::RuleSet;
use crate::core::image::Image;
use crate::core::tree::NodeId;
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

/// What the explorer is given besides the image: the rules, the user's Dockerfile, and where
/// trim outputs go.
pub struct ExplorerOptions {
    pub rules: RuleSet,
    /// (name, text) of the user's Dockerfile, when known.
    pub dockerfile: Option<(String, String)>,
    /// Prefix the trim outputs start from.
    pub trim_prefix: String,
    /// The explorer runs only for a trimming session (`pyslim trim`): leaving it quits.
    pub trim_only: bool,
}

/// The explorer's state. Its fields are the TUI's own: views read them, tests and commands go
/// through the methods below.
pub struct App {
    pub(super) image: Image,
    pub(super) ex: Examination,
    pub(super) keymap: Keymap,
    pub(super) focus: Pane,
    pub(super) mode: Mode,
    pub(super) layer: usize,
    pub(super) scope: Scope,
    pub(super) filter: Filter,
    pub(super) min_size: u64,
    pub(super) sort: SortBy,
    /// Directories the user opened in the unfiltered tree.
    pub(super) expanded: FxHashSet<NodeId>,
    /// Directories open while a filter is on: those leading to what it keeps, at first.
    pub(super) filter_open: FxHashSet<NodeId>,
    pub(super) view: LayerView,
    /// What the filters keep of the view, and each node's size as the view counts it.
    pub(super) shown: Shown,
    pub(super) rows: Vec<Row>,
    pub(super) tree_cursor: usize,
    pub(super) layer_cursor: usize,
    pub(super) finding_cursor: usize,
    /// Rows the tree pane shows, for paging (set from the terminal's size by the loop).
    pub(super) page: usize,
    pub(super) search: SearchState,
    /// Node → index of the finding that claims it.
    pub(super) finding_of: FxHashMap<NodeId, usize>,
    pub(super) bloat: FxHashSet<NodeId>,
    pub(super) hidden: HiddenBytes,
    pub(super) quit: bool,
    pub(super) rules: RuleSet,
    pub(super) dockerfile: Option<(String, String)>,
    pub(super) trim: Option<TrimState>,
    /// Set by `update`, taken and carried out by the loop.
    pub(super) effect: Option<Effect>,
    pub(super) trim_prefix: String,
    pub(super) trim_only: bool,
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
        let hidden = treeview::hidden_bytes(&ex.tree);
        let last = image.layers.len().saturating_sub(1);
        let view = LayerView::compute(&ex.tree, last as u32, Scope::UpToLayer);
        let shown = Shown {
            keep: None,
            bytes: view.bytes.clone(),
        };
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
            filter_open: FxHashSet::default(),
            view,
            shown,
            rows: Vec::new(),
            tree_cursor: 0,
            layer_cursor: last,
            finding_cursor: 0,
            page: 10,
            search: SearchState::default(),
            finding_of,
            bloat,
            hidden,
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

    /// Takes the rules, the Dockerfile and the trim prefix; a trim-only explorer opens on its
    /// trimming session.
    pub fn configure(&mut self, options: ExplorerOptions) {
        self.rules = options.rules;
        self.dockerfile = options.dockerfile;
        self.trim_prefix = options.trim_prefix;
        self.trim_only = options.trim_only;
        if options.trim_only {
            self.update(Action::Trim);
        }
    }

    pub fn image(&self) -> &Image {
        &self.image
    }

    pub fn examination(&self) -> &Examination {
        &self.ex
    }

    pub fn rules(&self) -> &RuleSet {
        &self.rules
    }

    /// What the trim job needs from the explorer: the image (whose ELF facts it may read
    /// again), the examination, the rules, and the session when one is open.
    pub(crate) fn trim_job_inputs(
        &mut self,
    ) -> (
        &mut Image,
        &Examination,
        &RuleSet,
        Option<&crate::core::trim_session::Session>,
    ) {
        (
            &mut self.image,
            &self.ex,
            &self.rules,
            self.trim.as_ref().map(|t| &t.session),
        )
    }

    pub fn set_rules(&mut self, rules: RuleSet) {
        self.rules = rules;
    }

    pub fn set_trim_prefix(&mut self, prefix: impl Into<String>) {
        self.trim_prefix = prefix.into();
    }

    /// `pyslim trim`: leaving the session quits.
    pub fn set_trim_only(&mut self, trim_only: bool) {
        self.trim_only = trim_only;
    }

    pub fn mode(&self) -> Mode {
        self.mode
    }

    pub fn focus(&self) -> Pane {
        self.focus
    }

    /// The selected layer (0-based, as the panes number them).
    pub fn layer(&self) -> usize {
        self.layer
    }

    pub fn scope(&self) -> Scope {
        self.scope
    }

    pub fn filter(&self) -> Filter {
        self.filter
    }

    pub fn min_size(&self) -> u64 {
        self.min_size
    }

    /// The tree pane's rows, as open and filtered now.
    pub fn rows(&self) -> &[Row] {
        &self.rows
    }

    /// A node's size as the tree pane shows it (the view's own measure under a filter).
    pub fn shown_bytes(&self, id: NodeId) -> u64 {
        self.shown.bytes.get(id as usize).copied().unwrap_or(0)
    }

    /// Whether a directory shows open in the tree pane now.
    pub fn is_open(&self, id: NodeId) -> bool {
        self.open_dirs().contains(&id)
    }

    pub fn tree_cursor(&self) -> usize {
        self.tree_cursor
    }

    pub fn finding_cursor(&self) -> usize {
        self.finding_cursor
    }

    pub fn search(&self) -> &SearchState {
        &self.search
    }

    pub fn trim(&self) -> Option<&TrimState> {
        self.trim.as_ref()
    }

    /// What the explorer asked the loop to do, once.
    pub fn take_effect(&mut self) -> Option<Effect> {
        self.effect.take()
    }

    /// The user asked to quit.
    pub fn quits(&self) -> bool {
        self.quit
    }

    /// Sets the tree pane's page from the screen's size.
    pub fn resize(&mut self, area: ratatui::layout::Rect) {
        self.page = super::view::areas(area, self).tree.height.saturating_sub(2) as usize;
    }

    /// The tree node under the cursor.
    pub fn selected_node(&self) -> Option<NodeId> {
        self.rows.get(self.tree_cursor).map(|r| r.node)
    }

    /// One key: the screen on top maps it through its own keymap section.
    pub fn handle_key(&mut self, key: KeyEvent) {
        match self.mode {
            Mode::Search => self.search_key(key),
            Mode::Trim => self.trim_key(key),
            Mode::Help => {
                // Any key closes the help; a quit key with Ctrl (not a letter) quits.
                if self.keymap.action(key) == Some(Action::Quit)
                    && key.modifiers.contains(KeyModifiers::CONTROL)
                {
                    self.quit = true;
                }
                self.mode = Mode::Normal;
            }
            Mode::Normal => {
                if let Some(a) = self.keymap.action(key) {
                    self.update(a);
                }
            }
        }
    }

    /// The explorer's `handle`: one action of its keymap section.
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
                let all = (1..self.ex.tree.nodes.len() as NodeId)
                    .filter(|&id| !self.ex.tree.node(id).children.is_empty())
                    .collect();
                *self.open_dirs_mut() = all;
                self.refresh_rows();
            }
            Action::CollapseAll => {
                self.open_dirs_mut().clear();
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
                self.refresh_filter();
            }
            Action::MinSize => {
                let pos = MIN_SIZES
                    .iter()
                    .position(|&m| m == self.min_size)
                    .unwrap_or(0);
                self.min_size = MIN_SIZES[(pos + 1) % MIN_SIZES.len()];
                self.refresh_filter();
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
                self.search.open(&self.ex.tree);
                self.mode = Mode::Search;
            }
        }
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
