//! The compare view: the variants side by side, and every file that differs between them,
//! filtered as you type with the same fuzzy matcher as the explorer. State and update here;
//! drawing in `view/compare.rs`.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use fuzzy_matcher::skim::SkimMatcherV2;
use fuzzy_matcher::FuzzyMatcher;

use crate::core::compare::Comparison;

pub struct CompareApp {
    pub comparison: Comparison,
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
        CompareApp {
            comparison,
            shown,
            cursor: 0,
            searching: false,
            query: String::new(),
            page: 10,
            quit: false,
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
                }
                KeyCode::Enter => self.searching = false,
                KeyCode::Backspace => {
                    self.query.pop();
                    self.filter();
                }
                KeyCode::Char('c') if ctrl => self.quit = true,
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
            KeyCode::End | KeyCode::Char('G') => self.cursor = self.shown.len().saturating_sub(1),
            _ => {}
        }
    }

    fn move_by(&mut self, d: i64) {
        if self.shown.is_empty() {
            return;
        }
        self.cursor = (self.cursor as i64 + d).clamp(0, self.shown.len() as i64 - 1) as usize;
    }

    fn filter(&mut self) {
        self.cursor = 0;
        if self.query.trim().is_empty() {
            self.shown = (0..self.comparison.paths.len()).collect();
            return;
        }
        let matcher = SkimMatcherV2::default();
        let mut scored: Vec<(i64, usize)> = self
            .comparison
            .paths
            .iter()
            .enumerate()
            .filter_map(|(i, p)| matcher.fuzzy_match(&p.path, &self.query).map(|s| (s, i)))
            .collect();
        scored.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
        self.shown = scored.into_iter().map(|(_, i)| i).collect();
    }
}
