//! fzf's extended-search query syntax, parsed into an AND of OR-sets of terms (the steps and
//! their order are those of fzf's `parseTerms`, pattern.go).

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// The term's characters in order, anywhere.
    Fuzzy,
    /// The term as one substring (`'term`).
    Exact,
    /// The term as one substring with no letter or digit right before or after it
    /// (`'term'`, fzf 0.40+): `'core'` finds `numpy/core/x.py` and `_core_`, not `score.py`.
    ExactBoundary,
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

/// A parsed query: every set must match, and a set matches when one of its terms does
/// (`a b` is two sets, `a | b` one set of two). Empty when it has no term (then nothing is
/// searched).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Query {
    pub sets: Vec<Vec<Term>>,
}

impl Query {
    pub fn parse(query: &str) -> Query {
        let mut sets: Vec<Vec<Term>> = Vec::new();
        let mut set: Vec<Term> = Vec::new();
        // As fzf: `|` joins the next term to the current set; a `|` with no set before it,
        // or right after another `|`, is an ordinary (fuzzy) term.
        let (mut new_set, mut after_bar) = (false, false);
        for word in query.split_whitespace() {
            if !set.is_empty() && !after_bar && word == "|" {
                new_set = false;
                after_bar = true;
                continue;
            }
            after_bar = false;
            if let Some(term) = parse_term(word) {
                if new_set {
                    sets.push(std::mem::take(&mut set));
                }
                set.push(term);
                new_set = true;
            }
        }
        if !set.is_empty() {
            sets.push(set);
        }
        Query { sets }
    }

    pub fn is_empty(&self) -> bool {
        self.sets.is_empty()
    }

    /// Every term, set by set.
    pub fn terms(&self) -> impl Iterator<Item = &Term> {
        self.sets.iter().flatten()
    }

    /// Whether every path this query matches is also matched by `prev`, so that a search can
    /// re-test only what `prev` kept (true for most keystrokes that extend a query). Set by
    /// set: each new term narrows the old term at its place, and a set may lose terms (an OR
    /// of fewer) but not gain any.
    pub fn narrows(&self, prev: &Query) -> bool {
        prev.sets.len() <= self.sets.len()
            && prev.sets.iter().zip(&self.sets).all(|(old, new)| {
                new.len() <= old.len() && old.iter().zip(new).all(|(o, n)| n.narrows(o))
            })
    }
}

impl Term {
    /// Whether every path this term matches is matched by `old`.
    fn narrows(&self, old: &Term) -> bool {
        if old.inverse != self.inverse || old.case_sensitive != self.case_sensitive {
            return false;
        }
        if old.inverse {
            // Not containing "ab" allows more than not containing "a".
            return old.kind == self.kind && old.text == self.text;
        }
        match (old.kind, self.kind) {
            (Kind::Fuzzy, Kind::Fuzzy)
            | (Kind::Exact, Kind::Exact)
            | (Kind::Prefix, Kind::Prefix)
            // Typing the closing quote of `'core'`: a bounded match is a substring match.
            | (Kind::Exact, Kind::ExactBoundary) => self.text.starts_with(&old.text),
            (Kind::Suffix, Kind::Suffix) => self.text.ends_with(&old.text),
            (Kind::Equal, Kind::Equal) | (Kind::ExactBoundary, Kind::ExactBoundary) => {
                self.text == old.text
            }
            _ => false,
        }
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
    if text.len() > 2 && text.starts_with('\'') && text.ends_with('\'') {
        // `'word'` (fzf counts the quotes in the length: `''` is the exact term `'`).
        kind = Kind::ExactBoundary;
        text = &text[1..text.len() - 1];
    } else if let Some(rest) = text.strip_prefix('\'') {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn term(s: &str) -> Term {
        Query::parse(s).sets.remove(0).remove(0)
    }

    #[test]
    fn parses_fzf_term_syntax() {
        let t = |s: &str| {
            let t = term(s);
            (t.kind, t.inverse, t.text)
        };
        assert_eq!(t("core"), (Kind::Fuzzy, false, "core".into()));
        assert_eq!(t("'core"), (Kind::Exact, false, "core".into()));
        assert_eq!(t("'core'"), (Kind::ExactBoundary, false, "core".into()));
        assert_eq!(t("'c'"), (Kind::ExactBoundary, false, "c".into()));
        assert_eq!(t("''"), (Kind::Exact, false, "'".into()));
        assert_eq!(t("!'core'"), (Kind::ExactBoundary, true, "core".into()));
        // fzf strips `$` before it looks for quotes: the bounded term wins over the suffix.
        assert_eq!(t("'core'$"), (Kind::ExactBoundary, false, "core".into()));
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

    #[test]
    fn a_bar_joins_terms_into_one_set() {
        let shape = |q: &str| -> Vec<Vec<String>> {
            Query::parse(q)
                .sets
                .iter()
                .map(|s| s.iter().map(|t| t.text.clone()).collect())
                .collect()
        };
        // fzf's documented example: `^core go$ | rb$ | py$`.
        assert_eq!(
            shape("^core go$ | rb$ | py$"),
            [vec!["core"], vec!["go", "rb", "py"]]
        );
        // A bar with nothing before it, or right after a bar, is a term of its own.
        assert_eq!(shape("| a"), [vec!["|"], vec!["a"]]);
        assert_eq!(shape("a | | b"), [vec!["a", "|"], vec!["b"]]);
        // A trailing bar waits for its term: the query still means `a` while it is typed.
        assert_eq!(shape("a |"), [vec!["a"]]);
        assert_eq!(shape("a | b c"), [vec!["a", "b"], vec!["c"]]);
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
        assert!(n("'core'", "'core"));
        assert!(!n("'cores'", "'core'"));
        // An OR widens: `a | b` keeps what `a` dropped.
        assert!(n("a |", "a"));
        assert!(!n("a | b", "a |"));
        assert!(n("a | bc", "a | b"));
        assert!(n("a | b c", "a | b"));
        assert!(n("a", "a | b"));
    }
}
