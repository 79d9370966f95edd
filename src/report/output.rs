//! Where a report goes and in which format: one rule for every command. `--json` is
//! `--format json`; `-o -` (like no `-o`) is stdout; a format the command cannot write is a
//! one-line usage error.

use std::io::Write;
use std::path::Path;

use crate::cli::OutputFormat;
use crate::error::{Error, Result};

/// The format asked for: `--format`, else `--json`, else text. A format `command` cannot
/// write, or `--json` beside another `--format`, is a usage error naming the ones it can.
pub fn choose(
    command: &str,
    format: Option<OutputFormat>,
    json: bool,
    supported: &[OutputFormat],
) -> Result<OutputFormat> {
    let chosen = match (format, json) {
        (Some(f), true) if f != OutputFormat::Json => {
            return Err(Error::Usage(format!(
                "--json and --format {} disagree; give one of them",
                f.as_str()
            )))
        }
        (Some(f), _) => f,
        (None, true) => OutputFormat::Json,
        (None, false) => OutputFormat::Text,
    };
    if supported.contains(&chosen) {
        return Ok(chosen);
    }
    let names: Vec<&str> = supported.iter().map(|f| f.as_str()).collect();
    Err(Error::Usage(format!(
        "{command} cannot write --format {}; it writes {}",
        chosen.as_str(),
        names.join(", ")
    )))
}

/// True when `path` means stdout: none given, or `-`.
pub fn is_stdout(path: Option<&Path>) -> bool {
    path.is_none_or(|p| p.as_os_str() == "-")
}

/// Refuses, before any work, a report path whose directory does not exist.
pub fn check_target(path: Option<&Path>) -> Result<()> {
    match path.filter(|_| !is_stdout(path)).and_then(Path::parent) {
        Some(dir) if !dir.as_os_str().is_empty() && !dir.is_dir() => Err(Error::Usage(format!(
            "{}: no such directory",
            dir.display()
        ))),
        _ => Ok(()),
    }
}

/// Writes `text` (with a final newline) to stdout or to the file `path` names, replacing it:
/// a report is derived output, like a shell redirection.
pub fn write(path: Option<&Path>, text: &str) -> Result<()> {
    let newline = if text.ends_with('\n') { "" } else { "\n" };
    match path.filter(|_| !is_stdout(path)) {
        None => {
            let mut stdout = std::io::stdout().lock();
            // A closed pipe (`| head`) is not an error worth a message.
            let _ = write!(stdout, "{text}{newline}");
            Ok(())
        }
        Some(p) => {
            if let Some(dir) = p.parent().filter(|d| !d.as_os_str().is_empty()) {
                if !dir.is_dir() {
                    return Err(Error::Usage(format!(
                        "{}: no such directory",
                        dir.display()
                    )));
                }
            }
            std::fs::write(p, format!("{text}{newline}")).map_err(|e| Error::io(p, e))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_alias_and_supported_formats() {
        let all = [OutputFormat::Text, OutputFormat::Json];
        assert_eq!(choose("x", None, false, &all).unwrap(), OutputFormat::Text);
        assert_eq!(choose("x", None, true, &all).unwrap(), OutputFormat::Json);
        assert_eq!(
            choose("x", Some(OutputFormat::Json), true, &all).unwrap(),
            OutputFormat::Json
        );
        assert!(choose("x", Some(OutputFormat::Html), false, &all).is_err());
    }

    #[test]
    fn dash_and_nothing_are_stdout() {
        assert!(is_stdout(None));
        assert!(is_stdout(Some(Path::new("-"))));
        assert!(!is_stdout(Some(Path::new("./-"))));
        assert!(check_target(Some(Path::new("-"))).is_ok());
        assert!(check_target(Some(Path::new("no/such/dir/x.json"))).is_err());
    }
}
