//! Matching paths against a query the way fzf does, for the explorer's search and compare's
//! file filter (one matcher for both).
//!
//! Query syntax (fzf's extended search, `query.rs`): space-separated terms that must all
//! match; `word` fuzzy, `'word` exact substring, `'word'` exact at word boundaries, `^word`
//! prefix, `word$` suffix, `^word$` the whole path, `!word` must not contain (`!^word`,
//! `!word$` likewise, `!'word` must not fuzzy-match); `a | b` either. A term is
//! case-sensitive only when it has an upper-case letter (smart case).
//!
//! Ranking, best first: how each term sits in the path (contiguous, starting a path segment or
//! a word after `/`, `_`, `.`, `-`, ending one, inside the file name), then the skim score
//! (fuzzy-matcher's SkimMatcherV2, per fuzzy term), then the shorter path. The placement comes
//! first because skim alone cannot tell `lib/python3.11/m1.py` from `libpython3.12.a` for
//! `libpy` (both 103: two segment starts weigh what one contiguous run does), and the shorter
//! path then wins. In a set of terms joined by `|`, the first term that matches is the one
//! scored (as in fzf).

mod index;
mod query;

use fuzzy_matcher::skim::SkimMatcherV2;
use fuzzy_matcher::FuzzyMatcher;
use memchr::memmem::Finder;

pub use self::index::{Found, PathIndex, MAX_RESULTS};
pub use self::query::{Kind, Query, Term};

/// How one term sits in a path: each flag outranks all the ones after it together.
const CONTIGUOUS: u32 = 8;
const STARTS_WORD: u32 = 4;
const IN_FILE_NAME: u32 = 2;
const ENDS_WORD: u32 = 1;

/// Where a match ranks; compare with `Ord`, greater is better.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Score {
    /// Sum over term sets of the placement flags of the term that matched.
    pub placement: u32,
    /// Sum over term sets whose matching term is fuzzy of its skim score.
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
    /// Per term (set after set), its text's substring searcher (built once, used on every
    /// path).
    finders: Vec<Finder<'static>>,
    /// Per set, where its terms start in `finders`.
    firsts: Vec<usize>,
    skim: SkimMatcherV2,
}

impl Matcher {
    pub fn new(query: Query) -> Matcher {
        let finders = query
            .terms()
            .map(|t| Finder::new(t.text.as_bytes()).into_owned())
            .collect();
        let firsts = query
            .sets
            .iter()
            .scan(0, |first, set| {
                let at = *first;
                *first += set.len();
                Some(at)
            })
            .collect();
        Matcher {
            query,
            finders,
            firsts,
            // Case is handled here (smart case per term), so skim sees the right strings.
            skim: SkimMatcherV2::default().respect_case(),
        }
    }

    pub fn query(&self) -> &Query {
        &self.query
    }

    /// Whether the path matches every term set: the cheap test (no scoring).
    pub fn matches(&self, path: &str, lower: &str) -> bool {
        self.placement(path, lower).is_some()
    }

    /// The placement part of the score (substring searches, one pass per term); None when
    /// the path does not match. This is what runs on every path at each keystroke.
    pub fn placement(&self, path: &str, lower: &str) -> Option<u32> {
        self.placement_except(usize::MAX, path, lower)
    }

    /// `placement` over every set but the `skip`-th.
    pub(crate) fn placement_except(&self, skip: usize, path: &str, lower: &str) -> Option<u32> {
        let (path, lower) = (strip_root(path), strip_root(lower));
        let mut sum = 0;
        for (s, set) in self.query.sets.iter().enumerate() {
            if s != skip {
                sum += choose(set, self.set_finders(s), path, lower)?.0;
            }
        }
        Some(sum)
    }

    fn set_finders(&self, s: usize) -> &[Finder<'static>] {
        let first = self.firsts[s];
        &self.finders[first..first + self.query.sets[s].len()]
    }

    /// The set whose term is best searched for in a whole text at once: a set of one plain
    /// (not inverse) fuzzy or exact term, the longest (the likeliest to be rare).
    pub(crate) fn anchor(&self) -> Option<usize> {
        let plain = |set: &[Term]| match set {
            [t] if !t.inverse
                && matches!(t.kind, Kind::Fuzzy | Kind::Exact | Kind::ExactBoundary) =>
            {
                Some(t.text.len())
            }
            _ => None,
        };
        let mut best: Option<(usize, usize)> = None;
        for (s, set) in self.query.sets.iter().enumerate() {
            if let Some(len) = plain(set) {
                if best.is_none_or(|(_, l)| len > l) {
                    best = Some((s, len));
                }
            }
        }
        best.map(|(s, _)| s)
    }

    /// The term of the `s`-th set, which has one, and its searcher.
    pub(crate) fn anchor_term(&self, s: usize) -> (&Term, &Finder<'static>) {
        let first = self.firsts[s];
        (&self.query.sets[s][0], &self.finders[first])
    }

    /// The full score; None when the path does not match.
    pub fn score(&self, path: &str, lower: &str) -> Option<Score> {
        let (path, lower) = (strip_root(path), strip_root(lower));
        let (mut placement, mut skim) = (0, 0);
        for (s, set) in self.query.sets.iter().enumerate() {
            let (p, chosen) = choose(set, self.set_finders(s), path, lower)?;
            placement += p;
            if let Some(t) = chosen.filter(|t| t.kind == Kind::Fuzzy) {
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

/// One set (fzf's `extendedMatch`): the first term that matches gives the set its placement
/// and is the one scored; an inverse term whose text is absent lets the set match with
/// placement 0, unless a later term matches. None when the set does not match.
fn choose<'t>(
    set: &'t [Term],
    finders: &[Finder],
    path: &str,
    lower: &str,
) -> Option<(u32, Option<&'t Term>)> {
    let mut chosen = None;
    for (t, finder) in set.iter().zip(finders) {
        let hay = if t.case_sensitive { path } else { lower }.as_bytes();
        match (term_placement(t, finder, hay), t.inverse) {
            (Some(p), false) => return Some((p, Some(t))),
            (None, true) => chosen = Some((0, None)),
            _ => {}
        }
    }
    chosen
}

/// How the term sits in the path; None when it does not match there.
fn term_placement(t: &Term, finder: &Finder, hay: &[u8]) -> Option<u32> {
    let needle = t.text.as_bytes();
    match t.kind {
        Kind::Fuzzy => match placement(hay, finder, false) {
            0 if !in_order(hay, needle) => None,
            p => Some(p),
        },
        Kind::Exact => Some(placement(hay, finder, false)).filter(|&p| p > 0),
        Kind::ExactBoundary => Some(placement(hay, finder, true)).filter(|&p| p > 0),
        Kind::Prefix => hay
            .starts_with(needle)
            .then(|| placement(hay, finder, false)),
        Kind::Suffix => hay.ends_with(needle).then(|| placement(hay, finder, false)),
        Kind::Equal => (hay == needle).then(|| placement(hay, finder, false)),
    }
}

fn strip_root(path: &str) -> &str {
    path.strip_prefix('/').unwrap_or(path)
}

/// The needle's characters appear in the haystack in order. On bytes: an ASCII byte in
/// UTF-8 is always that character, and a non-ASCII needle is compared by characters.
pub(crate) fn in_order(hay: &[u8], needle: &[u8]) -> bool {
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

/// fzf's word boundary for `'word'`: any character that is not a letter or a digit. On
/// bytes: a non-ASCII byte belongs to a letter (paths spell words, not symbols, in them).
fn is_boundary(b: u8) -> bool {
    b.is_ascii() && !b.is_ascii_alphanumeric()
}

/// The best placement of a term's text as one run in the path (0 when it is not one run,
/// or, `bounded`, not one with a boundary on both sides).
fn placement(hay: &[u8], finder: &Finder, bounded: bool) -> u32 {
    finder
        .find(hay)
        .map_or(0, |first| placement_from(hay, first, finder, bounded))
}

/// `placement` given where the text first occurs in the path: the occurrences are those of
/// memmem's `find_iter` (each search starts past the last hit), or with `bounded` every one
/// (a bounded hit may overlap an unbounded one: `a.a` in `xa.a.a`).
fn placement_from(hay: &[u8], first: usize, finder: &Finder, bounded: bool) -> u32 {
    let len = finder.needle().len();
    let step = if bounded { 1 } else { len.max(1) };
    let name_start = memchr::memrchr(b'/', hay).map_or(0, |i| i + 1);
    let mut best = 0;
    let mut at = first;
    loop {
        best = best.max(run_flags(hay, at, len, name_start, bounded));
        if best == BEST {
            break;
        }
        let from = at + step;
        match hay.get(from..).and_then(|rest| finder.find(rest)) {
            Some(i) => at = from + i,
            None => break,
        }
    }
    best
}

/// The best placement there is: a whole word in the file name.
pub(crate) const BEST: u32 = CONTIGUOUS | STARTS_WORD | IN_FILE_NAME | ENDS_WORD;

/// The placement of one occurrence of a `len`-byte text at `at` in the path `hay`, whose
/// file name starts at `name_start`; 0 when `bounded` and a letter or digit touches it.
pub(crate) fn run_flags(
    hay: &[u8],
    at: usize,
    len: usize,
    name_start: usize,
    bounded: bool,
) -> u32 {
    let end = at + len;
    let starts = at == 0 || is_separator(hay[at - 1]);
    let ends = end == hay.len() || is_separator(hay[end]);
    if bounded
        && !((at == 0 || is_boundary(hay[at - 1])) && (end == hay.len() || is_boundary(hay[end])))
    {
        return 0;
    }
    let mut p = CONTIGUOUS;
    if starts {
        p |= STARTS_WORD;
    }
    if at >= name_start {
        p |= IN_FILE_NAME;
    }
    if ends {
        p |= ENDS_WORD;
    }
    p
}

/// Best first: higher score, then the shorter path, then by name so the order is stable.
pub fn rank<'a, T>(scored: &mut [(Score, T)], path: impl Fn(&T) -> &'a str) {
    scored.sort_by(|a, b| {
        b.0.cmp(&a.0)
            .then_with(|| path(&a.1).len().cmp(&path(&b.1).len()))
            .then_with(|| path(&a.1).cmp(path(&b.1)))
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(q: &str, path: &str) -> bool {
        Matcher::new(Query::parse(q)).matches(path, &path.to_lowercase())
    }

    #[test]
    fn every_term_must_hold() {
        let p = "usr/lib/python3/dist-packages/numpy/core/_multiarray_umath.so";
        assert!(m("numpy core multiarray", p));
        assert!(m("npcrmlt", p));
        assert!(!m("numpy core multiarray 'tests", p));
        assert!(!m("numpy core multiarray zz", p));
        assert!(m("'multiarray ^usr .so$", p));
        assert!(m("^/usr/lib", p));
        assert!(!m("'mltarray", p));
        assert!(!m("!numpy", p));
        assert!(m("!scipy numpy", p));
        assert!(!m("!^usr", p));
        assert!(!m("!.so$", p));
        assert!(m("!'zzz", p) && !m("!'npcr", p));
        assert!(m("Numpy", "x/Numpy") && !m("Numpy", p));
    }

    #[test]
    fn a_bounded_term_needs_no_letter_or_digit_beside_it() {
        let p = "usr/lib/python3/dist-packages/numpy/core/_multiarray_umath.so";
        assert!(m("'core'", p));
        assert!(m("'multiarray'", p), "`_` is a boundary, as in fzf");
        assert!(m("'so'", p) && m("'python3'", p));
        assert!(!m("'python'", p), "a digit follows");
        assert!(!m("'cor'", p) && !m("'ore'", p) && !m("'multi'", p));
        // The second `core` is bounded though the first is not.
        assert!(m("'core'", "srv/score/core.py"));
        assert!(!m("!'core'", p) && m("!'cor'", p));
    }

    #[test]
    fn a_set_matches_when_one_of_its_terms_does() {
        let (go, rb, py) = ("core/x/main.go", "core/lib/a.rb", "lib/core/a.py");
        let q = "^core go$ | rb$ | py$";
        assert!(m(q, go) && m(q, rb) && !m(q, py) && !m(q, "core/a.c"));
        // An inverse term in a set matches where its text is absent.
        assert!(m("zzz | !test", "a/b.py") && !m("zzz | !test", "a/test.py"));
        assert!(m("test | !test", "a/test.py"));
        // The first term that matches is the one scored: `b.py` scores as `b`, not `py$`.
        let s = |q: &str, p: &str| Matcher::new(Query::parse(q)).score_path(p);
        assert_eq!(s("zz | b | py$", "a/b.py"), s("b", "a/b.py"));
        assert_ne!(s("py$ | b", "a/b.py"), s("b", "a/b.py"));
    }

    #[test]
    fn contiguous_and_word_starts_rank_first() {
        let q = Matcher::new(Query::parse("libpy"));
        let a = q.score_path("usr/lib/python3.11/m1.py").unwrap();
        let b = q
            .score_path("usr/lib/x86_64-linux-gnu/libpython3.12.a")
            .unwrap();
        assert!(b > a, "{b:?} should beat {a:?}");
        // Skim alone ties them (103 each: two segment starts weigh what one run does), and
        // the shorter path would win the tie: that is why placement ranks first.
        assert_eq!(a.skim, b.skim);
    }
}
