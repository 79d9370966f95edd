//! The explorer's tree pane: what the filters keep and which directories are open (the
//! user's own, or while a filter is on, the filter's), opening and closing, and revealing a
//! path found elsewhere.

use rustc_hash::FxHashSet;

use super::{App, Pane};
use crate::core::tree::{NodeId, ROOT};
use crate::tui::action::Action;
use crate::tui::treeview::{self, Filter, LayerView, Scope};

impl App {
    /// A filter or a minimum size is on.
    pub(super) fn filtering(&self) -> bool {
        self.filter != Filter::All || self.min_size > 0
    }

    /// The open directories of the tree as it is shown now (filtered or not).
    pub(super) fn open_dirs(&self) -> &FxHashSet<NodeId> {
        if self.filtering() {
            &self.filter_open
        } else {
            &self.expanded
        }
    }

    pub(super) fn open_dirs_mut(&mut self) -> &mut FxHashSet<NodeId> {
        if self.filtering() {
            &mut self.filter_open
        } else {
            &mut self.expanded
        }
    }

    pub(super) fn refresh_view(&mut self) {
        self.view = LayerView::compute(&self.ex.tree, self.layer as u32, self.scope);
        self.refresh_filter();
    }

    /// The filters or the view changed: what they keep, and the directories leading to it open.
    pub(super) fn refresh_filter(&mut self) {
        self.shown = treeview::shown(
            &self.ex.tree,
            &self.view,
            self.filter,
            self.min_size,
            &self.bloat,
            &self.hidden,
        );
        self.filter_open = self.expanded.clone();
        self.filter_open
            .extend(treeview::auto_open(&self.ex.tree, &self.shown));
        self.refresh_rows();
    }

    pub(super) fn refresh_rows(&mut self) {
        let keep_node = self.selected_node();
        self.rows = treeview::rows(
            &self.ex.tree,
            &self.view,
            &self.shown,
            self.open_dirs(),
            self.sort,
        );
        self.tree_cursor = keep_node
            .and_then(|n| self.rows.iter().position(|r| r.node == n))
            .unwrap_or(self.tree_cursor.min(self.rows.len().saturating_sub(1)));
    }

    /// Turns a filter on; the same filter again turns it off, as dive's toggles do.
    pub(super) fn set_filter(&mut self, f: Filter) {
        self.filter = if self.filter == f { Filter::All } else { f };
        self.refresh_filter();
    }

    pub(super) fn collapse(&mut self) {
        if self.focus == Pane::Layers {
            return self.update(Action::PrevLayer);
        }
        let Some(id) = self.selected_node() else {
            return;
        };
        if self.open_dirs_mut().remove(&id) {
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

    pub(super) fn expand(&mut self) {
        if self.focus == Pane::Layers {
            return self.update(Action::NextLayer);
        }
        if let Some(id) = self.selected_node() {
            if treeview::is_dir(&self.ex.tree, &self.view, id) && self.open_dirs_mut().insert(id) {
                self.refresh_rows();
            }
        }
    }

    pub(super) fn toggle(&mut self) {
        match self.focus {
            Pane::Findings => self.show_finding(),
            Pane::Layers => self.focus = Pane::Tree,
            Pane::Tree => {
                if let Some(id) = self.selected_node() {
                    let dir = treeview::is_dir(&self.ex.tree, &self.view, id);
                    let open = self.open_dirs_mut();
                    if !open.remove(&id) && dir {
                        open.insert(id);
                    }
                    self.refresh_rows();
                }
            }
        }
    }

    /// Opens the tree at the selected finding's largest path.
    pub(super) fn show_finding(&mut self) {
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
        self.refresh_view();
        if let Some(pos) = self.rows.iter().position(|r| r.node == id) {
            self.tree_cursor = pos;
        }
        self.focus = Pane::Tree;
    }
}
