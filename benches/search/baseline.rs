//! The search as it was before whole-text passes and kept matches (commit 9a0093a:
//! core/path_match.rs and tui/search.rs), so that benches/search.rs times both in the same
//! run on the same loaded machine, key for key, and checks they answer the same.
#![allow(dead_code)]

use fuzzy_matcher::skim::SkimMatcherV2;
use fuzzy_matcher::FuzzyMatcher;
use memchr::memmem::Finder;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// The term's characters in order, anywhere.
    Fuzzy,
    /// The term as one substring (`'term`).
    Exact,
    /// The path starts with it (`^term`).
    Prefix,
    /// The path ends with it (`term$`).
    Suffix,
    /// The path is it (`^term$`).
    Equal,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Term {
    pub kind: Kind,
    /// `!`: the path must not match.
    pub inverse: bool,
    /// Lower-cased unless `case_sensitive`; no leading `/` for anchored kinds.
    pub text: String,
    pub case_sensitive: bool,
}

/// A parsed query. Empty when it has no term (then nothing is searched).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Query {
    pub terms: Vec<Term>,
}

impl Query {
    pub fn parse(query: &str) -> Query {
        let terms = query.split_whitespace().filter_map(parse_term).collect();
        Query { terms }
    }

    pub fn is_empty(&self) -> bool {
        self.terms.is_empty()
    }

    /// Whether every path this query matches is also matched by `prev`, so that a search can
    /// re-test only what `prev` kept (true for most keystrokes that extend a query).
    pub fn narrows(&self, prev: &Query) -> bool {
        prev.terms.len() <= self.terms.len()
            && prev.terms.iter().zip(&self.terms).all(|(old, new)| {
                old.kind == new.kind
                    && old.inverse == new.inverse
                    && old.case_sensitive == new.case_sensitive
                    && if old.inverse {
                        // Not containing "ab" allows more than not containing "a".
                        old.text == new.text
                    } else {
                        match new.kind {
                            Kind::Fuzzy | Kind::Exact | Kind::Prefix => {
                                new.text.starts_with(&old.text)
                            }
                            Kind::Suffix => new.text.ends_with(&old.text),
                            Kind::Equal => new.text == old.text,
                        }
                    }
            })
    }
}

fn parse_term(word: &str) -> Option<Term> {
    // The same steps, in the same order, as fzf's pattern.go.
    let mut text = word;
    let mut kind = Kind::Fuzzy;
    let mut inverse = false;
    if let Some(rest) = text.strip_prefix('!') {
        inverse = true;
        kind = Kind::Exact;
        text = rest;
    }
    if text != "$" {
        if let Some(rest) = text.strip_suffix('$') {
            kind = Kind::Suffix;
            text = rest;
        }
    }
    if let Some(rest) = text.strip_prefix('\'') {
        // `'` flips exactness: exact for a plain term, fuzzy after `!`.
        kind = if inverse { Kind::Fuzzy } else { Kind::Exact };
        text = rest;
    } else if let Some(rest) = text.strip_prefix('^') {
        kind = if kind == Kind::Suffix {
            Kind::Equal
        } else {
            Kind::Prefix
        };
        text = rest;
    }
    if matches!(kind, Kind::Prefix | Kind::Equal) {
        // Paths show with a leading `/`; `^usr` and `^/usr` both mean the top directory.
        text = text.trim_start_matches('/');
    }
    if text.is_empty() {
        return None;
    }
    let case_sensitive = text.chars().any(char::is_uppercase);
    Some(Term {
        kind,
        inverse,
        text: if case_sensitive {
            text.to_string()
        } else {
            text.to_lowercase()
        },
        case_sensitive,
    })
}

/// How one term sits in a path: each flag outranks all the ones after it together.
const CONTIGUOUS: u32 = 8;
const STARTS_WORD: u32 = 4;
const IN_FILE_NAME: u32 = 2;
const ENDS_WORD: u32 = 1;

/// Where a match ranks; compare with `Ord`, greater is better.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Score {
    /// Sum over terms of their placement flags.
    pub placement: u32,
    /// Sum over fuzzy terms of the skim score.
    pub skim: i64,
}

impl Score {
    /// One number that orders as the score does (for callers that keep an i64).
    pub fn as_i64(self) -> i64 {
        ((self.placement as i64) << 32) + self.skim
    }
}

/// A query ready to test paths. A path is tested as it reads (`usr/lib/x` or `/usr/lib/x`)
/// and lower-cased, which the caller may compute once per path and keep.
pub struct Matcher {
    query: Query,
    /// Per term, its text's substring searcher (built once, used on every path).
    finders: Vec<Finder<'static>>,
    skim: SkimMatcherV2,
}

impl Matcher {
    pub fn new(query: Query) -> Matcher {
        let finders = query
            .terms
            .iter()
            .map(|t| Finder::new(t.text.as_bytes()).into_owned())
            .collect();
        Matcher {
            query,
            finders,
            // Case is handled here (smart case per term), so skim sees the right strings.
            skim: SkimMatcherV2::default().respect_case(),
        }
    }

    pub fn query(&self) -> &Query {
        &self.query
    }

    /// Whether the path matches every term: the cheap test (no scoring).
    pub fn matches(&self, path: &str, lower: &str) -> bool {
        self.placement(path, lower).is_some()
    }

    /// The placement part of the score (substring searches, one pass per term); None when
    /// the path does not match. This is what runs on every path at each keystroke.
    pub fn placement(&self, path: &str, lower: &str) -> Option<u32> {
        let (path, lower) = (strip_root(path), strip_root(lower));
        let mut sum = 0;
        for (t, finder) in self.query.terms.iter().zip(&self.finders) {
            let hay = if t.case_sensitive { path } else { lower }.as_bytes();
            let needle = t.text.as_bytes();
            let placed = match t.kind {
                Kind::Fuzzy => match placement(hay, finder) {
                    0 if !in_order(hay, needle) => None,
                    p => Some(p),
                },
                Kind::Exact => Some(placement(hay, finder)).filter(|&p| p > 0),
                Kind::Prefix => hay.starts_with(needle).then(|| placement(hay, finder)),
                Kind::Suffix => hay.ends_with(needle).then(|| placement(hay, finder)),
                Kind::Equal => (hay == needle).then(|| placement(hay, finder)),
            };
            match (placed, t.inverse) {
                (Some(p), false) => sum += p,
                (None, true) => {}
                _ => return None,
            }
        }
        Some(sum)
    }

    /// The full score; None when the path does not match.
    pub fn score(&self, path: &str, lower: &str) -> Option<Score> {
        let placement = self.placement(path, lower)?;
        let (path, lower) = (strip_root(path), strip_root(lower));
        let mut skim = 0;
        for t in self.query.terms.iter().filter(|t| !t.inverse) {
            if t.kind == Kind::Fuzzy {
                let hay = if t.case_sensitive { path } else { lower };
                skim += self.skim.fuzzy_match(hay, &t.text)?;
            }
        }
        Some(Score { placement, skim })
    }

    /// `score` for a caller that has not lower-cased the path.
    pub fn score_path(&self, path: &str) -> Option<Score> {
        self.score(path, &path.to_lowercase())
    }
}

fn strip_root(path: &str) -> &str {
    path.strip_prefix('/').unwrap_or(path)
}

/// The needle's characters appear in the haystack in order. On bytes: an ASCII byte in
/// UTF-8 is always that character, and a non-ASCII needle is compared by characters.
fn in_order(hay: &[u8], needle: &[u8]) -> bool {
    if needle.is_ascii() {
        let mut at = 0;
        for &b in needle {
            match memchr::memchr(b, &hay[at..]) {
                Some(i) => at += i + 1,
                None => return false,
            }
        }
        return true;
    }
    let (Ok(hay), Ok(needle)) = (std::str::from_utf8(hay), std::str::from_utf8(needle)) else {
        return false;
    };
    let mut want = needle.chars();
    let mut next = want.next();
    for c in hay.chars() {
        match next {
            None => return true,
            Some(n) if n == c => next = want.next(),
            Some(_) => {}
        }
    }
    next.is_none()
}

/// Separators are ASCII, so a byte test is exact on UTF-8.
fn is_separator(b: u8) -> bool {
    matches!(b, b'/' | b'_' | b'.' | b'-' | b' ')
}

/// The best placement of a term's text as one run in the path (0 when it is not one run).
fn placement(hay: &[u8], finder: &Finder) -> u32 {
    let len = finder.needle().len();
    let name_start = memchr::memrchr(b'/', hay).map_or(0, |i| i + 1);
    let mut best = 0;
    for at in finder.find_iter(hay) {
        let end = at + len;
        let mut p = CONTIGUOUS;
        if at == 0 || is_separator(hay[at - 1]) {
            p |= STARTS_WORD;
        }
        if at >= name_start {
            p |= IN_FILE_NAME;
        }
        if end == hay.len() || is_separator(hay[end]) {
            p |= ENDS_WORD;
        }
        best = best.max(p);
        if best == CONTIGUOUS | STARTS_WORD | IN_FILE_NAME | ENDS_WORD {
            break;
        }
    }
    best
}

/// Best first: higher score, then the shorter path, then by name so the order is stable.
pub fn rank<'a, T>(scored: &mut [(Score, T)], path: impl Fn(&T) -> &'a str) {
    scored.sort_by(|a, b| {
        b.0.cmp(&a.0)
            .then_with(|| path(&a.1).len().cmp(&path(&b.1).len()))
            .then_with(|| path(&a.1).cmp(path(&b.1)))
    });
}

use rayon::prelude::*;

use pyslim::core::tree::{NodeId, Tree};

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
        rank(&mut scored, |&i| this.path(i).0);
        let rows = scored
            .iter()
            .take(MAX_RESULTS)
            .map(|&(s, i)| (self.ids[i as usize], self.path(i).0.to_string(), s.as_i64()))
            .collect();
        self.last = Some((matcher.query().clone(), kept));
        Found { rows, total }
    }
}
