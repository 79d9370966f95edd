//! Path search in the explorer: its state and its keys.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::{App, Mode};
use crate::core::tree::NodeId;
use crate::tui::search::PathIndex;

pub struct SearchState {
    pub query: String,
    pub results: Vec<(NodeId, String, i64)>,
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
        self.search.results = self
            .index
            .as_mut()
            .map(|ix| ix.search(&query))
            .unwrap_or_default();
        self.search.cursor = 0;
    }

    /// How many paths search looks through.
    pub fn searchable_paths(&self) -> usize {
        self.index
            .as_ref()
            .map(PathIndex::len)
            .unwrap_or(self.ex.tree.nodes.len().saturating_sub(1))
    }
}
