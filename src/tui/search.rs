//! Fuzzy search over every path the image ever had (fuzzy-matcher's skim algorithm), ranked
//! by score. Three things keep it at typing speed on 200,000 paths: a cheap in-order
//! character test rejects most paths; a longer query only re-tests what the shorter one
//! kept; and when a short query keeps too many, only the most likely (the query inside the
//! file name, then inside the path, shorter paths first) are scored.

use fuzzy_matcher::skim::SkimMatcherV2;
use fuzzy_matcher::FuzzyMatcher;

use crate::core::tree::{NodeId, Tree};

/// Most results kept.
pub const MAX_RESULTS: usize = 500;
/// Most candidates given the full fuzzy score.
const MAX_SCORED: usize = 4000;

pub struct PathIndex {
    /// (node, path, lower-cased path)
    entries: Vec<(NodeId, String, String)>,
    /// The last query and the entries that passed its in-order test.
    last: Option<(Vec<char>, Vec<u32>)>,
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

    /// Best matches first: (node, path, score).
    pub fn search(&mut self, query: &str) -> Vec<(NodeId, String, i64)> {
        use rayon::prelude::*;
        let q: Vec<char> = query
            .to_lowercase()
            .chars()
            .filter(|c| !c.is_whitespace())
            .collect();
        if q.is_empty() {
            self.last = None;
            return Vec::new();
        }
        // A query that extends the last one can only match what the last one matched.
        let pool: Vec<u32> = match &self.last {
            Some((prev, kept)) if q.starts_with(prev) => kept.clone(),
            _ => (0..self.entries.len() as u32).collect(),
        };
        let entries = &self.entries;
        let kept: Vec<u32> = pool
            .into_par_iter()
            .filter(|&i| in_order(&entries[i as usize].2, &q))
            .collect();
        let needle: String = q.iter().collect();
        let mut ranked: Vec<(u8, usize, u32)> = kept
            .iter()
            .map(|&i| {
                let lower = &entries[i as usize].2;
                let name = lower.rsplit('/').next().unwrap_or(lower);
                let likely = if name.contains(&needle) {
                    0
                } else if lower.contains(&needle) {
                    1
                } else {
                    2
                };
                (likely, lower.len(), i)
            })
            .collect();
        if ranked.len() > MAX_SCORED {
            ranked.select_nth_unstable(MAX_SCORED);
            ranked.truncate(MAX_SCORED);
        }
        let matcher = SkimMatcherV2::default();
        let mut out: Vec<(NodeId, String, i64)> = ranked
            .iter()
            .filter_map(|&(_, _, i)| {
                let (id, path, _) = &entries[i as usize];
                matcher
                    .fuzzy_match(path, query)
                    .map(|score| (*id, path.clone(), score))
            })
            .collect();
        // Higher score first; shorter paths first among equals.
        out.sort_by(|a, b| {
            b.2.cmp(&a.2)
                .then(a.1.len().cmp(&b.1.len()))
                .then_with(|| a.1.cmp(&b.1))
        });
        out.truncate(MAX_RESULTS);
        self.last = Some((q, kept));
        out
    }
}

fn in_order(hay: &str, needle: &[char]) -> bool {
    let mut it = needle.iter().peekable();
    for c in hay.chars() {
        match it.peek() {
            Some(&&n) if n == c => {
                it.next();
            }
            None => return true,
            _ => {}
        }
    }
    it.peek().is_none()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn in_order_rejects_what_cannot_match() {
        assert!(in_order(
            "usr/lib/gcc/x86_64-linux-gnu/12/cc1plus",
            &['c', 'c', '1', 'p']
        ));
        assert!(!in_order("usr/bin/python3", &['c', 'c', '1']));
    }
}
