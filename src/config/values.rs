//! How threshold values are written (dive's way: `0.9`, `10%`, `20MB`, `"disabled"`), and
//! the "did you mean" hint every unknown name gets.

use super::check::Limit;
use crate::error::{Error, Result};

pub fn parse_ratio(input: &str, key: &str, value: &str) -> Result<Limit<f64>> {
    if value.eq_ignore_ascii_case("disabled") {
        return Ok(Limit::Disabled);
    }
    let v = value.trim();
    let parsed = match v.strip_suffix('%') {
        Some(p) => p.trim().parse::<f64>().map(|x| x / 100.0),
        None => v.parse::<f64>(),
    };
    match parsed {
        Ok(x) if (0.0..=1.0).contains(&x) => Ok(Limit::At(x)),
        _ => Err(Error::corrupt(input, format!("{key} = {value:?}: expected a ratio from 0 to 1 (or a percentage like 10%), or \"disabled\""))),
    }
}

/// `20MB` (SI, as dive reads it), `20MiB`, `1.5GB`, `300k`, or a plain number of bytes.
pub fn parse_size(input: &str, key: &str, value: &str) -> Result<Limit<u64>> {
    if value.eq_ignore_ascii_case("disabled") {
        return Ok(Limit::Disabled);
    }
    let v = value.trim();
    let split = v
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(v.len());
    let (num, unit) = v.split_at(split);
    let mult: Option<f64> = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => Some(1.0),
        "k" | "kb" => Some(1e3),
        "m" | "mb" => Some(1e6),
        "g" | "gb" => Some(1e9),
        "kib" => Some(1024.0),
        "mib" => Some(1024.0 * 1024.0),
        "gib" => Some(1024.0 * 1024.0 * 1024.0),
        _ => None,
    };
    match (num.parse::<f64>(), mult) {
        (Ok(n), Some(m)) if n >= 0.0 => Ok(Limit::At((n * m).round() as u64)),
        _ => Err(Error::corrupt(
            input,
            format!(
                "{key} = {value:?}: expected a size like 20MB, 20MiB or 1048576, or \"disabled\""
            ),
        )),
    }
}

/// `; did you mean "x"?` for the closest valid name, when one is close.
pub(super) fn did_you_mean<'a>(bad: &str, valid: impl Iterator<Item = &'a str>) -> String {
    let best = valid
        .map(|v| (distance(&bad.to_lowercase(), &v.to_lowercase()), v))
        .min_by_key(|(d, _)| *d);
    match best {
        Some((d, v)) if d <= 2.max(bad.len() / 4) => format!("; did you mean {v:?}?"),
        _ => String::new(),
    }
}

/// Levenshtein distance, on bytes (names here are ASCII).
fn distance(a: &str, b: &str) -> usize {
    let b = b.as_bytes();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.bytes().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, &cb) in b.iter().enumerate() {
            let here = row[j + 1];
            row[j + 1] = (prev + usize::from(ca != cb)).min(row[j] + 1).min(here + 1);
            prev = here;
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_and_ratios_read_like_dive() {
        assert_eq!(parse_size("t", "k", "20MB").unwrap(), Limit::At(20_000_000));
        assert_eq!(
            parse_size("t", "k", "1.5 GiB").unwrap(),
            Limit::At(1_610_612_736)
        );
        assert_eq!(parse_size("t", "k", "disabled").unwrap(), Limit::Disabled);
        assert!(parse_size("t", "k", "lots").is_err());
        assert_eq!(parse_ratio("t", "k", "0.95").unwrap(), Limit::At(0.95));
        assert_eq!(parse_ratio("t", "k", "10%").unwrap(), Limit::At(0.1));
        assert!(parse_ratio("t", "k", "1.5").is_err());
    }

    #[test]
    fn close_names_are_suggested() {
        assert_eq!(distance("compiler", "compilers"), 1);
        assert_eq!(distance("", "abc"), 3);
        assert_eq!(
            did_you_mean(
                "lowest-efficency",
                ["lowest-efficiency", "fail-on"].into_iter()
            ),
            "; did you mean \"lowest-efficiency\"?"
        );
        assert_eq!(did_you_mean("zzz", ["fail-on"].into_iter()), "");
    }
}
