//! Formatting every layer shares: sizes, one-line messages, width-limited cells and dates.
//! A leaf module: it imports nothing of pyslim's.

use humansize::{format_size, BINARY};

/// A byte count as people read it: `1.50 MiB` (binary units, as dive and docker show).
pub fn size(bytes: u64) -> String {
    format_size(bytes, BINARY)
}

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

/// The shortest trailing path components that tell each name from the others:
/// `/tmp/a/fat-app.tar` and `/tmp/b/slim-app.tar` become `fat-app.tar` and `slim-app.tar`,
/// `x/app/img.tar` and `y/app/img.tar` become `x/app/img.tar` and `y/app/img.tar`. Names that
/// are the same whole stay whole.
pub fn unique_suffixes(names: &[String]) -> Vec<String> {
    let parts: Vec<Vec<&str>> = names
        .iter()
        .map(|n| n.trim_end_matches('/').split('/').collect())
        .collect();
    let suffix = |i: usize, k: usize| -> String {
        let p = &parts[i];
        p[p.len().saturating_sub(k)..].join("/")
    };
    (0..names.len())
        .map(|i| {
            if (0..names.len()).any(|j| j != i && names[j] == names[i]) {
                return names[i].clone();
            }
            let most = parts[i].len();
            (1..=most)
                .map(|k| suffix(i, k))
                .find(|mine| {
                    (0..names.len()).all(|j| {
                        j == i || {
                            let theirs = suffix(j, mine.matches('/').count() + 1);
                            &theirs != mine
                        }
                    })
                })
                .unwrap_or_else(|| names[i].clone())
        })
        .collect()
}

/// `s` cut to `width` characters in the middle, keeping both ends: the start and the tag or
/// file extension of a long image name both tell variants apart.
pub fn clip_middle(s: &str, width: usize) -> String {
    let n = s.chars().count();
    if n <= width {
        return s.to_owned();
    }
    if width < 3 {
        return clip(s, width);
    }
    let tail = (width - 1) / 2;
    let head = width - 1 - tail;
    let start: String = s.chars().take(head).collect();
    let end: String = s.chars().skip(n - tail).collect();
    format!("{start}…{end}")
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

    #[test]
    fn names_keep_the_components_that_tell_them_apart() {
        let names = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(
            unique_suffixes(&names(&["/tmp/x/fat-app.tar", "/tmp/x/slim-app.tar"])),
            names(&["fat-app.tar", "slim-app.tar"])
        );
        assert_eq!(
            unique_suffixes(&names(&["x/app/img.tar", "y/app/img.tar", "z/other.tar"])),
            names(&["x/app/img.tar", "y/app/img.tar", "other.tar"])
        );
        assert_eq!(
            unique_suffixes(&names(&["pyslim-fixture/python-slim:3.11", "demo"])),
            names(&["python-slim:3.11", "demo"])
        );
        // The same image twice: nothing tells them apart, so both stay whole.
        assert_eq!(
            unique_suffixes(&names(&["a/b.tar", "a/b.tar"])),
            names(&["a/b.tar", "a/b.tar"])
        );
        // A suffix of one may be the whole of another.
        assert_eq!(
            unique_suffixes(&names(&["img.tar", "x/img.tar"])),
            names(&["img.tar", "x/img.tar"])
        );
    }

    #[test]
    fn middle_clip_keeps_both_ends() {
        assert_eq!(clip_middle("distroless-python:3.11", 12), "distro…:3.11");
        assert_eq!(clip_middle("short", 12), "short");
        assert_eq!(clip_middle("abcdef", 2), "a…");
    }
}

/// The current time as RFC 3339 in UTC (`2024-05-01T00:00:00Z`), as image configs write it;
/// `SOURCE_DATE_EPOCH` (reproducible builds) replaces the clock when set.
pub fn utc_now_rfc3339() -> String {
    let secs = std::env::var("SOURCE_DATE_EPOCH")
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_secs())
                .unwrap_or(0)
        });
    rfc3339(secs)
}

/// Seconds since the epoch as RFC 3339 (civil-from-days, proleptic Gregorian).
pub fn rfc3339(secs: u64) -> String {
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

#[cfg(test)]
mod time_tests {
    #[test]
    fn epoch_seconds_read_as_dates() {
        assert_eq!(super::rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(super::rfc3339(1_714_521_600), "2024-05-01T00:00:00Z");
        assert_eq!(super::rfc3339(951_827_696), "2000-02-29T12:34:56Z");
    }
}
