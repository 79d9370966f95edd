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
/// Most candidates given the full fuzzy score: the best by placement, then shortest. Twice
/// the rows kept, so skim reorders the rows shown; more costs a keystroke its frame (skim on
/// 4,000 long paths took 3–11 ms of the budget in benches/search.rs).
const MAX_SCORED: usize = 2 * MAX_RESULTS;

/// The best matches of one query and how many paths matched in all.
#[derive(Debug, Clone, Default)]
pub struct Found {
    /// Best first: (node, path, score).
    pub rows: Vec<(NodeId, String, i64)>,
    pub total: usize,
}

/// Every path of the tree, kept as two long strings (as read and lower-cased) with each
/// path's span: one allocation each, read front to back at every keystroke.
pub struct PathIndex {
    ids: Vec<NodeId>,
    text: String,
    lower: String,
    /// Per path: where it sits in `text`, then in `lower` (the two differ for some non-ASCII).
    spans: Vec<[u32; 4]>,
    /// The last query and the paths that matched it.
    last: Option<(Query, Vec<u32>)>,
}

impl PathIndex {
    pub fn build(tree: &Tree) -> PathIndex {
        let n = tree.nodes.len();
        // Each node's path, built top-down from its parent's span.
        let mut span_of: Vec<(u32, u32)> = vec![(0, 0); n];
        let mut text = String::new();
        let mut lower = String::new();
        let mut ids = Vec::with_capacity(n);
        let mut spans = Vec::with_capacity(n);
        for id in 1..n {
            let node = &tree.nodes[id];
            let start = text.len();
            let (ps, pl) = span_of[node.parent as usize];
            if pl > 0 {
                text.extend_from_within(ps as usize..(ps + pl) as usize);
                text.push('/');
            }
            text.push_str(&node.name);
            let len = text.len() - start;
            span_of[id] = (start as u32, len as u32);
            let lstart = lower.len();
            lower.push_str(&text[start..].to_lowercase());
            ids.push(id as NodeId);
            spans.push([
                start as u32,
                len as u32,
                lstart as u32,
                (lower.len() - lstart) as u32,
            ]);
        }
        PathIndex {
            ids,
            text,
            lower,
            spans,
            last: None,
        }
    }

    pub fn len(&self) -> usize {
        self.ids.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    /// The i-th path as read and lower-cased.
    fn path(&self, i: u32) -> (&str, &str) {
        let [s, l, ls, ll] = self.spans[i as usize];
        (
            &self.text[s as usize..(s + l) as usize],
            &self.lower[ls as usize..(ls + ll) as usize],
        )
    }

    pub fn search(&mut self, query: &str) -> Found {
        let query = Query::parse(query);
        if query.is_empty() {
            self.last = None;
            return Found::default();
        }
        let matcher = Matcher::new(query);
        let this = &*self;
        // (placement, path length, path): what the cheap pass knows of each match.
        let place = |i: u32| {
            let (path, lower) = this.path(i);
            matcher
                .placement(path, lower)
                .map(|p| (p, path.len() as u32, i))
        };
        let placed: Vec<(u32, u32, u32)> = match &self.last {
            Some((prev, kept)) if matcher.query().narrows(prev) => {
                kept.par_iter().filter_map(|&i| place(i)).collect()
            }
            _ => (0..self.ids.len() as u32)
                .into_par_iter()
                .filter_map(place)
                .collect(),
        };
        let total = placed.len();
        let kept: Vec<u32> = placed.iter().map(|&(_, _, i)| i).collect();
        // Best placement first, shorter paths first among equals.
        let mut best = placed;
        if best.len() > MAX_SCORED {
            best.select_nth_unstable_by_key(MAX_SCORED, |&(p, len, _)| (std::cmp::Reverse(p), len));
            best.truncate(MAX_SCORED);
        }
        let mut scored: Vec<_> = best
            .par_iter()
            .filter_map(|&(_, _, i)| {
                let (path, lower) = this.path(i);
                matcher.score(path, lower).map(|s| (s, i))
            })
            .collect();
        path_match::rank(&mut scored, |&i| this.path(i).0);
        let rows = scored
            .iter()
            .take(MAX_RESULTS)
            .map(|&(s, i)| (self.ids[i as usize], self.path(i).0.to_string(), s.as_i64()))
            .collect();
        self.last = Some((matcher.query().clone(), kept));
        Found { rows, total }
    }
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
