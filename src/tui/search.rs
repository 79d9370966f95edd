//! The explorer's search over every path the image ever had, with the query syntax and
//! ranking of `core::path_match` (fzf's). Three things keep a keystroke fast on 400,000 paths:
//! a query that narrows the last one re-tests only what the last one kept; the cheap test and
//! placement (substring searches) run on every candidate in parallel; and only the best
//! `MAX_SCORED` by placement and length get the full skim score. Every match is counted.

use rayon::prelude::*;

use crate::core::path_match::{self, Matcher, Query};
use crate::core::tree::{NodeId, Tree};

/// Most results kept as rows (the count covers all matches).
pub const MAX_RESULTS: usize = 500;
/// Most candidates given the full fuzzy score: the best by placement, then shortest.
const MAX_SCORED: usize = 4000;

/// The best matches of one query and how many paths matched in all.
#[derive(Debug, Clone, Default)]
pub struct Found {
    /// Best first: (node, path, score).
    pub rows: Vec<(NodeId, String, i64)>,
    pub total: usize,
}

pub struct PathIndex {
    /// (node, path, lower-cased path)
    entries: Vec<(NodeId, String, String)>,
    /// The last query and the entries that matched it.
    last: Option<(Query, Vec<u32>)>,
}

impl PathIndex {
    pub fn build(tree: &Tree) -> PathIndex {
        let mut entries = Vec::with_capacity(tree.nodes.len());
        // Build paths top-down, reusing each parent's.
        let mut paths: Vec<String> = vec![String::new(); tree.nodes.len()];
        for id in 1..tree.nodes.len() {
            let node = &tree.nodes[id];
            let parent = &paths[node.parent as usize];
            let p = if parent.is_empty() {
                node.name.to_string()
            } else {
                format!("{parent}/{}", node.name)
            };
            paths[id] = p;
        }
        for (id, p) in paths.into_iter().enumerate().skip(1) {
            let lower = p.to_lowercase();
            entries.push((id as NodeId, p, lower));
        }
        PathIndex {
            entries,
            last: None,
        }
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    pub fn search(&mut self, query: &str) -> Found {
        let query = Query::parse(query);
        if query.is_empty() {
            self.last = None;
            return Found::default();
        }
        let entries = &self.entries;
        let matcher = Matcher::new(query);
        let placed: Vec<(u32, u32)> = match &self.last {
            Some((prev, kept)) if matcher.query().narrows(prev) => kept
                .par_iter()
                .filter_map(|&i| place(&matcher, entries, i))
                .collect(),
            _ => (0..entries.len() as u32)
                .into_par_iter()
                .filter_map(|i| place(&matcher, entries, i))
                .collect(),
        };
        let total = placed.len();
        let kept: Vec<u32> = placed.iter().map(|&(_, i)| i).collect();
        // Best placement first, shorter paths first among equals.
        let key = |&(p, i): &(u32, u32)| (std::cmp::Reverse(p), entries[i as usize].1.len());
        let mut best = placed;
        if best.len() > MAX_SCORED {
            best.select_nth_unstable_by_key(MAX_SCORED, key);
            best.truncate(MAX_SCORED);
        }
        let mut scored: Vec<_> = best
            .par_iter()
            .filter_map(|&(_, i)| {
                let (_, path, lower) = &entries[i as usize];
                matcher.score(path, lower).map(|s| (s, i))
            })
            .collect();
        path_match::rank(&mut scored, |&i| entries[i as usize].1.as_str());
        let rows = scored
            .iter()
            .take(MAX_RESULTS)
            .map(|&(s, i)| {
                let (id, path, _) = &entries[i as usize];
                (*id, path.clone(), s.as_i64())
            })
            .collect();
        self.last = Some((matcher.query().clone(), kept));
        Found { rows, total }
    }
}

fn place(matcher: &Matcher, entries: &[(NodeId, String, String)], i: u32) -> Option<(u32, u32)> {
    let (_, path, lower) = &entries[i as usize];
    matcher.placement(path, lower).map(|p| (p, i))
}

/// Ctrl-W as in a shell: drop trailing spaces, then the word before them.
pub fn delete_word(query: &mut String) {
    let kept = query.trim_end().len();
    query.truncate(kept);
    let start = query.rfind(char::is_whitespace).map_or(0, |i| i + 1);
    query.truncate(start);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ctrl_w_deletes_the_last_word_and_the_spaces_after_it() {
        let mut q = String::from("numpy core multi");
        delete_word(&mut q);
        assert_eq!(q, "numpy core ");
        delete_word(&mut q);
        assert_eq!(q, "numpy ");
        q.push_str("  ");
        delete_word(&mut q);
        assert_eq!(q, "");
        delete_word(&mut q);
        assert_eq!(q, "");
    }
}
