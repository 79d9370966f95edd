//! Path search in the explorer: its state and its keys.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::{App, Mode};
use crate::core::entry::EntryKind;
use crate::core::tree::{Change, NodeId};
use crate::tui::search::{delete_word, PathIndex};

#[derive(Default)]
pub struct SearchState {
    pub query: String,
    /// The best matches, best first: (node, path, score).
    pub results: Vec<(NodeId, String, i64)>,
    /// How many paths match in all (more than `results` holds on a big image).
    pub total: usize,
    pub cursor: usize,
}

impl App {
    pub(super) fn search_key(&mut self, key: KeyEvent) {
        let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
        match key.code {
            KeyCode::Esc => {
                self.mode = Mode::Normal;
            }
            KeyCode::Char('c') if ctrl => self.mode = Mode::Normal,
            // As in a shell: Ctrl-U clears the line, Ctrl-W deletes the word before the cursor.
            KeyCode::Char('u') if ctrl => {
                self.search.query.clear();
                self.run_search();
            }
            KeyCode::Char('w') if ctrl => {
                delete_word(&mut self.search.query);
                self.run_search();
            }
            KeyCode::Enter => {
                if let Some((id, _, _)) = self.search.results.get(self.search.cursor).cloned() {
                    self.mode = Mode::Normal;
                    self.reveal(id);
                }
            }
            KeyCode::Up => self.search.cursor = self.search.cursor.saturating_sub(1),
            KeyCode::Down => {
                self.search.cursor =
                    (self.search.cursor + 1).min(self.search.results.len().saturating_sub(1));
            }
            KeyCode::Backspace => {
                self.search.query.pop();
                self.run_search();
            }
            KeyCode::Char(c) if !ctrl => {
                self.search.query.push(c);
                self.run_search();
            }
            _ => {}
        }
    }

    fn run_search(&mut self) {
        let query = self.search.query.clone();
        let found = self
            .index
            .as_mut()
            .map(|ix| ix.search(&query))
            .unwrap_or_default();
        self.search.results = found.rows;
        self.search.total = found.total;
        self.search.cursor = 0;
    }

    /// How many paths search looks through.
    pub fn searchable_paths(&self) -> usize {
        self.index
            .as_ref()
            .map(PathIndex::len)
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
