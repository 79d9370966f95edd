//! Path search in the explorer: a screen of its own (state, `handle`, and view/search.rs to
//! draw it) over the explorer, which it asks to show the path chosen.

use crossterm::event::KeyEvent;

use super::{App, Mode};
use crate::core::entry::EntryKind;
use crate::core::tree::{Change, NodeId, Tree};
use crate::tui::action::SearchAction;
use crate::tui::keymap::Input;
use crate::tui::search::{delete_word, PathIndex};

#[derive(Default)]
pub struct SearchState {
    pub query: String,
    /// The best matches, best first: (node, path, score).
    pub results: Vec<(NodeId, String, i64)>,
    /// How many paths match in all (more than `results` holds on a big image).
    pub total: usize,
    pub cursor: usize,
    /// Every path, built the first time the search opens.
    index: Option<PathIndex>,
}

/// What the search asks of the explorer under it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SearchOutcome {
    Stay,
    Close,
    /// Close, and show this path in the tree.
    Reveal(NodeId),
    Quit,
}

impl SearchState {
    /// Opening: the index of every path is built once.
    pub fn open(&mut self, tree: &Tree) {
        if self.index.is_none() {
            self.index = Some(PathIndex::build(tree));
        }
    }

    pub fn handle(&mut self, action: SearchAction) -> SearchOutcome {
        match action {
            SearchAction::Close => return SearchOutcome::Close,
            SearchAction::Quit => return SearchOutcome::Quit,
            SearchAction::Open => {
                if let Some((id, _, _)) = self.results.get(self.cursor) {
                    return SearchOutcome::Reveal(*id);
                }
            }
            SearchAction::Up => self.cursor = self.cursor.saturating_sub(1),
            SearchAction::Down => {
                self.cursor = (self.cursor + 1).min(self.results.len().saturating_sub(1));
            }
            // As in a shell: Ctrl-U clears the line, Ctrl-W deletes the word before the cursor.
            SearchAction::Clear => {
                self.query.clear();
                self.run();
            }
            SearchAction::DeleteWord => {
                delete_word(&mut self.query);
                self.run();
            }
            SearchAction::DeleteChar => {
                self.query.pop();
                self.run();
            }
        }
        SearchOutcome::Stay
    }

    /// A typed character goes into the query.
    pub fn type_char(&mut self, c: char) {
        self.query.push(c);
        self.run();
    }

    fn run(&mut self) {
        let found = self
            .index
            .as_mut()
            .map(|ix| ix.search(&self.query))
            .unwrap_or_default();
        self.results = found.rows;
        self.total = found.total;
        self.cursor = 0;
    }

    /// How many paths the search looks through, once its index is built.
    pub fn searchable_paths(&self) -> Option<usize> {
        self.index.as_ref().map(PathIndex::len)
    }
}

impl App {
    pub(super) fn search_key(&mut self, key: KeyEvent) {
        let outcome = match self.keymap.input::<SearchAction>(key) {
            Some(Input::Action(a)) => self.search.handle(a),
            Some(Input::Char(c)) => {
                self.search.type_char(c);
                SearchOutcome::Stay
            }
            None => SearchOutcome::Stay,
        };
        match outcome {
            SearchOutcome::Stay => {}
            SearchOutcome::Close => self.mode = Mode::Normal,
            SearchOutcome::Reveal(id) => {
                self.mode = Mode::Normal;
                self.reveal(id);
            }
            SearchOutcome::Quit => self.quit = true,
        }
    }

    /// How many paths search looks through.
    pub fn searchable_paths(&self) -> usize {
        self.search
            .searchable_paths()
            .unwrap_or(self.ex.tree.nodes.len().saturating_sub(1))
    }

    /// The size a search result shows: what the tree pane shows for it at the selected layer
    /// (a directory's is everything under it); for a path not there or removed there, a
    /// file's last size.
    pub fn result_size(&self, id: NodeId) -> Option<u64> {
        let i = id as usize;
        let removed_here = self.view.change.get(i) == Some(&Some(Change::Deleted));
        if self.view.present.get(i) == Some(&true) && !removed_here {
            return self.view.bytes.get(i).copied();
        }
        self.ex
            .tree
            .node(id)
            .events
            .iter()
            .rev()
            .find(|e| e.change != Change::Deleted)
            .filter(|e| e.kind == EntryKind::File)
            .map(|e| e.size)
    }
}
