//! The explorer's search: the path index, its query syntax and ranking are
//! `core::path_match`'s (fzf's, shared with compare); this adds the query's editing keys.

pub use crate::core::path_match::{Found, PathIndex, MAX_RESULTS};

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
