//! Fuzzy search over every path the image ever had (fuzzy-matcher's skim algorithm), ranked
//! by score. A cheap in-order character test rejects most paths before scoring, so results
//! keep up with typing on 200,000 paths.

use fuzzy_matcher::skim::SkimMatcherV2;
use fuzzy_matcher::FuzzyMatcher;

use crate::core::tree::{NodeId, Tree};

/// Most results kept.
pub const MAX_RESULTS: usize = 500;

pub struct PathIndex {
    /// (node, path, lower-cased path)
    entries: Vec<(NodeId, String, String)>,
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
        PathIndex { entries }
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Best matches first: (node, path, score).
    pub fn search(&self, query: &str) -> Vec<(NodeId, String, i64)> {
        let q: Vec<char> = query
            .to_lowercase()
            .chars()
            .filter(|c| !c.is_whitespace())
            .collect();
        if q.is_empty() {
            return Vec::new();
        }
        let matcher = SkimMatcherV2::default();
        let mut out: Vec<(NodeId, String, i64)> = Vec::new();
        for (id, path, lower) in &self.entries {
            if !in_order(lower, &q) {
                continue;
            }
            if let Some(score) = matcher.fuzzy_match(path, query) {
                out.push((*id, path.clone(), score));
            }
        }
        // Higher score first; shorter paths first among equals.
        out.sort_by(|a, b| {
            b.2.cmp(&a.2)
                .then(a.1.len().cmp(&b.1.len()))
                .then_with(|| a.1.cmp(&b.1))
        });
        out.truncate(MAX_RESULTS);
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
