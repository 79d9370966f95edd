//! Matching paths against a query the way fzf does, for the explorer's search and compare's
//! file filter (one matcher for both).
//!
//! Query syntax (fzf's extended search): space-separated terms that must all match;
//! `word` fuzzy, `'word` exact substring, `^word` prefix, `word$` suffix, `^word$` the whole
//! path, `!word` must not contain (`!^word`, `!word$` likewise, `!'word` must not fuzzy-match).
//! A term is case-sensitive only when it has an upper-case letter (smart case).
//!
//! Ranking, best first: how each term sits in the path (contiguous, starting a path segment or
//! a word after `/`, `_`, `.`, `-`, ending one, inside the file name), then the skim score
//! (fuzzy-matcher's SkimMatcherV2, per fuzzy term), then the shorter path. The placement comes
//! first because skim alone cannot tell `lib/python3.11/m1.py` from `libpython3.12.a` for
//! `libpy` (both 103: two segment starts weigh what one contiguous run does), and the shorter
//! path then wins.

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

#[cfg(test)]
mod tests {
    use super::*;

    fn term(s: &str) -> Term {
        Query::parse(s).terms.remove(0)
    }

    #[test]
    fn parses_fzf_term_syntax() {
        let t = |s: &str| {
            let t = term(s);
            (t.kind, t.inverse, t.text)
        };
        assert_eq!(t("core"), (Kind::Fuzzy, false, "core".into()));
        assert_eq!(t("'core"), (Kind::Exact, false, "core".into()));
        assert_eq!(t("^usr"), (Kind::Prefix, false, "usr".into()));
        assert_eq!(t("^/usr"), (Kind::Prefix, false, "usr".into()));
        assert_eq!(t(".so$"), (Kind::Suffix, false, ".so".into()));
        assert_eq!(t("^app/app.py$"), (Kind::Equal, false, "app/app.py".into()));
        assert_eq!(t("!test"), (Kind::Exact, true, "test".into()));
        assert_eq!(t("!'tst"), (Kind::Fuzzy, true, "tst".into()));
        assert_eq!(t("!^usr"), (Kind::Prefix, true, "usr".into()));
        assert_eq!(t("!.pyc$"), (Kind::Suffix, true, ".pyc".into()));
        // Lone operators are not terms, as in fzf.
        assert!(Query::parse("! ' ^").is_empty());
        assert!(term("Core").case_sensitive && !term("core").case_sensitive);
    }

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

    #[test]
    fn narrowing_is_only_claimed_when_it_holds() {
        let n = |new: &str, old: &str| Query::parse(new).narrows(&Query::parse(old));
        assert!(n("numpy c", "numpy"));
        assert!(n("numpy co", "numpy c"));
        assert!(n("'abc", "'ab"));
        assert!(!n("!abc", "!ab"));
        assert!(!n("b", "a"));
        assert!(!n("numpy", "numpy c"));
        assert!(n("x.so$", ".so$"));
        assert!(!n(".sox$", ".so$"));
    }
}
