//! Small text helpers every layer uses: one-line messages and width-limited cells.

/// Collapses runs of whitespace (newlines included) to single spaces.
pub fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// `s` cut to `width` characters, with `…` marking the cut (spacing kept: tree indents).
pub fn clip(s: &str, width: usize) -> String {
    if s.chars().count() <= width {
        s.to_owned()
    } else if width == 0 {
        String::new()
    } else {
        let mut out: String = s.chars().take(width - 1).collect();
        out.push('…');
        out
    }
}

/// `s` on one line, then cut to `width`.
pub fn clip_line(s: &str, width: usize) -> String {
    clip(&one_line(s), width)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clips_on_characters_and_marks_the_cut() {
        assert_eq!(
            clip_line("RUN  apt-get\n  update", 40),
            "RUN apt-get update"
        );
        assert_eq!(clip("    ▸ usr", 40), "    ▸ usr");
        assert_eq!(clip("héllo wörld", 5), "héll…");
        assert_eq!(clip("abc", 0), "");
    }
}
