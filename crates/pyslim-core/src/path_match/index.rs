//! Every path of an image, searched at each keystroke of the explorer's search. What keeps a
//! keystroke within a frame on 400,000 paths:
//! - the paths are two long texts (as read and lower-cased, one path a line), so a query's
//!   likeliest rare term is found by one memmem pass over the whole text, not one search
//!   per path; only the lines it hits are tested for the other terms;
//! - the matches of the queries typed so far are kept: a query that narrows one of them
//!   (most keystrokes) re-tests only its matches, and a backspace back to one of them costs
//!   nothing but the ranking;
//! - only the best `MAX_SCORED` by placement and length get the full skim score. Every match
//!   is counted.

use rayon::prelude::*;

use super::{in_order, rank, run_flags, Kind, Matcher, Query, BEST};
use crate::tree::{NodeId, Tree};

/// Most results kept as rows (the count covers all matches).
pub const MAX_RESULTS: usize = 500;
/// Most candidates given the full fuzzy score: the best by placement, then shortest. Twice
/// the rows kept, so skim reorders the rows shown; more costs a keystroke its frame (skim on
/// 4,000 long paths took 3–11 ms of the budget in benches/search.rs).
const MAX_SCORED: usize = 2 * MAX_RESULTS;
/// The matches kept for earlier queries, in paths (12 bytes each): about 50 MB at most.
const HISTORY_PATHS: usize = 4_000_000;
/// Lines per parallel piece of a whole-text pass.
const PIECE: usize = 8192;

/// The best matches of one query and how many paths matched in all.
#[derive(Debug, Clone, Default)]
pub struct Found {
    /// Best first: (node, path, score).
    pub rows: Vec<(NodeId, String, i64)>,
    pub total: usize,
}

/// One match as the cheap pass sees it: (placement, path length, line).
type Placed = (u32, u32, u32);

/// Where one path sits in the two texts.
#[derive(Debug, Clone, Copy)]
struct Span {
    start: u32,
    len: u32,
    lower_start: u32,
    lower_len: u32,
    /// Where the file name starts, in the path as read and lower-cased.
    name: u32,
    lower_name: u32,
}

/// Every path of the tree, one a line in two long strings (as read and lower-cased): one
/// allocation each, read front to back at every keystroke.
pub struct PathIndex {
    ids: Vec<NodeId>,
    text: String,
    lower: String,
    /// Per path (line): where it sits in `text`, then in `lower` (the two differ for some
    /// non-ASCII).
    spans: Vec<Span>,
    /// Earlier queries, each narrowed by the next, with their matches in line order.
    history: Vec<(Query, Vec<Placed>)>,
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
            let lower_start = lower.len();
            lower.push_str(&text[start..].to_lowercase());
            let lower_len = lower.len() - lower_start;
            // One path a line: a term (never white space) cannot match across two paths.
            text.push('\n');
            lower.push('\n');
            ids.push(id as NodeId);
            let name_of = |path: &str| memchr::memrchr(b'/', path.as_bytes()).map_or(0, |i| i + 1);
            spans.push(Span {
                start: start as u32,
                len: len as u32,
                lower_start: lower_start as u32,
                lower_len: lower_len as u32,
                name: name_of(&text[start..start + len]) as u32,
                lower_name: name_of(&lower[lower_start..lower_start + lower_len]) as u32,
            });
        }
        PathIndex {
            ids,
            text,
            lower,
            spans,
            history: Vec::new(),
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
        let s = self.spans[i as usize];
        (
            &self.text[s.start as usize..(s.start + s.len) as usize],
            &self.lower[s.lower_start as usize..(s.lower_start + s.lower_len) as usize],
        )
    }

    pub fn search(&mut self, query: &str) -> Found {
        let query = Query::parse(query);
        if query.is_empty() {
            self.history.clear();
            return Found::default();
        }
        // The latest earlier query this one narrows: only its matches can match.
        while let Some((prev, _)) = self.history.last() {
            if query.narrows(prev) {
                break;
            }
            self.history.pop();
        }
        let matcher = Matcher::new(query);
        let again = matches!(self.history.last(), Some((prev, _)) if prev == matcher.query());
        if !again {
            let placed = match self.history.last() {
                Some((_, prev)) => prev
                    .par_iter()
                    .filter_map(|&(_, _, i)| self.place(&matcher, i))
                    .collect(),
                None => self.scan(&matcher),
            };
            self.history.push((matcher.query().clone(), placed));
            while self.history.len() > 1
                && self.history.iter().map(|(_, p)| p.len()).sum::<usize>() > HISTORY_PATHS
            {
                self.history.remove(0);
            }
        }
        let placed = self.history.last().map_or(&[][..], |(_, p)| p.as_slice());
        self.rank(&matcher, placed)
    }

    /// The cheap test and placement of one line.
    fn place(&self, matcher: &Matcher, i: u32) -> Option<Placed> {
        let (path, lower) = self.path(i);
        matcher
            .placement(path, lower)
            .map(|p| (p, path.len() as u32, i))
    }

    /// Every line that matches, in line order.
    fn scan(&self, matcher: &Matcher) -> Vec<Placed> {
        let lines = self.len() as u32;
        let pieces: Vec<(u32, u32)> = (0..lines)
            .step_by(PIECE)
            .map(|a| (a, (a + PIECE as u32).min(lines)))
            .collect();
        // A whole-text pass wins where the anchor is rare on most lines (benches/search.rs):
        // an exact term of three characters or more, or such a fuzzy one when other sets
        // are then tested only where it matched. Shorter terms hit nearly every line, and a
        // fuzzy term alone reads the text twice (runs, then characters in order): both cost
        // more than one search per path.
        let anchor = matcher.anchor().filter(|&a| {
            let (term, _) = matcher.anchor_term(a);
            term.text.len() >= 3 && (term.kind != Kind::Fuzzy || matcher.query().sets.len() > 1)
        });
        let Some(anchor) = anchor else {
            return pieces
                .par_iter()
                .flat_map_iter(|&(a, b)| (a..b).filter_map(|i| self.place(matcher, i)))
                .collect();
        };
        pieces
            .par_iter()
            .flat_map_iter(|&(a, b)| {
                self.anchor_pass(matcher, anchor, a, b)
                    .into_iter()
                    .filter_map(|(i, p)| {
                        let (path, lower) = self.path(i);
                        let rest = matcher.placement_except(anchor, path, lower)?;
                        Some((p + rest, path.len() as u32, i))
                    })
            })
            .collect()
    }

    /// The lines in `a..b` the anchor term (the one term of its set, plain) matches, with
    /// its placement there: one memmem pass over the text for its contiguous runs, and for a
    /// fuzzy term of more than one character one memchr pass for its characters in order.
    fn anchor_pass(&self, matcher: &Matcher, anchor: usize, a: u32, b: u32) -> Vec<(u32, u32)> {
        let (term, finder) = matcher.anchor_term(anchor);
        let lines = Lines::new(self, term.case_sensitive, a, b);
        if lines.count() == 0 {
            return Vec::new();
        }
        let hay = lines.hay;
        let bounded = term.kind == Kind::ExactBoundary;
        let len = finder.needle().len();
        // Memmem's non-overlapping hits from each line's start, as `Matcher::placement`
        // sees them (every hit when bounded): the best placement per line.
        let step = if bounded { 1 } else { len.max(1) };
        let mut runs: Vec<(u32, u32)> = Vec::new();
        let (mut line, mut best) = (0, 0);
        let mut from = lines.start(0);
        let end = lines.end;
        while let Some(hit) = hay.get(from..end).and_then(|h| finder.find(h)) {
            let at = from + hit;
            if at > lines.bounds(line).1 {
                if best > 0 {
                    runs.push((a + line as u32, best));
                }
                line = lines.holding(line, at);
                best = 0;
            }
            let (start, stop) = lines.bounds(line);
            let name = lines.name(line);
            best = best.max(run_flags(&hay[start..stop], at - start, len, name, bounded));
            from = at + step;
            if best == BEST {
                // Nothing ranks higher: on to the next line.
                runs.push((a + line as u32, best));
                (line, best) = (line + 1, 0);
                if line == lines.count() {
                    break;
                }
                from = lines.start(line);
            }
        }
        if best > 0 {
            runs.push((a + line as u32, best));
        }
        let needle = term.text.as_bytes();
        if term.kind != Kind::Fuzzy || needle.len() == 1 {
            return runs;
        }
        // Fuzzy: every line with the characters in order, placed by its run if it has one.
        let mut matched = Vec::new();
        let mut runs = runs.into_iter().peekable();
        let (mut line, mut from) = (0, lines.start(0));
        while let Some(hit) = hay
            .get(from..end)
            .and_then(|h| memchr::memchr(needle[0], h))
        {
            let at = from + hit;
            line = lines.holding(line, at);
            let i = a + line as u32;
            while runs.next_if(|&(r, _)| r < i).is_some() {}
            match runs.next_if(|&(r, _)| r == i) {
                Some(run) => matched.push(run),
                None if in_order(&hay[at..lines.bounds(line).1], needle) => matched.push((i, 0)),
                None => {}
            }
            line += 1;
            if line == lines.count() {
                break;
            }
            from = lines.start(line);
        }
        matched
    }

    /// Counts every match and ranks the best: the top `MAX_SCORED` by placement and length
    /// get the full score.
    fn rank(&self, matcher: &Matcher, placed: &[Placed]) -> Found {
        let total = placed.len();
        // Best placement first, shorter paths first among equals.
        let mut best = placed.to_vec();
        if best.len() > MAX_SCORED {
            best.select_nth_unstable_by_key(MAX_SCORED, |&(p, len, _)| (std::cmp::Reverse(p), len));
            best.truncate(MAX_SCORED);
        }
        let mut scored: Vec<_> = best
            .par_iter()
            .filter_map(|&(_, _, i)| {
                let (path, lower) = self.path(i);
                matcher.score(path, lower).map(|s| (s, i))
            })
            .collect();
        rank(&mut scored, |&i| self.path(i).0);
        let rows = scored
            .iter()
            .take(MAX_RESULTS)
            .map(|&(s, i)| (self.ids[i as usize], self.path(i).0.to_string(), s.as_i64()))
            .collect();
        Found { rows, total }
    }
}

/// Lines `a..b` of the index in the text a term of one case is searched in.
struct Lines<'a> {
    hay: &'a [u8],
    spans: &'a [Span],
    lower: bool,
    /// Where the last line ends.
    end: usize,
}

impl<'a> Lines<'a> {
    fn new(index: &'a PathIndex, case_sensitive: bool, a: u32, b: u32) -> Lines<'a> {
        let spans = &index.spans[a as usize..b as usize];
        let hay = if case_sensitive {
            index.text.as_bytes()
        } else {
            index.lower.as_bytes()
        };
        let mut lines = Lines {
            hay,
            spans,
            lower: !case_sensitive,
            end: 0,
        };
        lines.end = spans.len().checked_sub(1).map_or(0, |l| lines.bounds(l).1);
        lines
    }

    fn count(&self) -> usize {
        self.spans.len()
    }

    /// Where line `l` starts and ends (before its newline).
    fn bounds(&self, l: usize) -> (usize, usize) {
        span_bounds(&self.spans[l], self.lower)
    }

    fn start(&self, l: usize) -> usize {
        self.bounds(l).0
    }

    /// Where line `l`'s file name starts, in the line.
    fn name(&self, l: usize) -> usize {
        let s = &self.spans[l];
        (if self.lower { s.lower_name } else { s.name }) as usize
    }

    /// The line, `from` or after, that holds byte `at` (never a newline).
    fn holding(&self, from: usize, at: usize) -> usize {
        let next = from + 1;
        if self.bounds(from).1 >= at {
            from
        } else if next < self.count() && self.bounds(next).1 >= at {
            next
        } else {
            next + self.spans[next..].partition_point(|s| span_bounds(s, self.lower).1 < at)
        }
    }
}

fn span_bounds(s: &Span, lower: bool) -> (usize, usize) {
    let (start, len) = if lower {
        (s.lower_start, s.lower_len)
    } else {
        (s.start, s.len)
    };
    (start as usize, (start + len) as usize)
}
