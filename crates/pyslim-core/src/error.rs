//! The library's error type. Every variant reads as one line a user can act on:
//! what failed, on which input, and (where it helps) what to do.

use std::path::PathBuf;

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    /// An archive or layer could not be read: truncated, corrupt, or not the format claimed.
    #[error("{input}: {reason}")]
    Corrupt { input: String, reason: String },

    /// The input is well-formed but not something pyslim can make an image of.
    #[error("{input}: {reason}")]
    Unsupported { input: String, reason: String },

    #[error("{input}: digest mismatch: expected {expected}, found {actual}")]
    DigestMismatch {
        input: String,
        expected: String,
        actual: String,
    },

    /// A hostile or runaway input crossed one of the configured limits.
    #[error("{input}: {what} exceeds the limit of {limit} (raise it with {flag})")]
    Limit {
        input: String,
        what: String,
        limit: u64,
        flag: &'static str,
    },

    #[error("{0}")]
    Daemon(String),

    /// A registry could not be reached, refused, or has no such image: the line names the
    /// registry and says what to do.
    #[error("{0}")]
    Registry(String),

    #[error("image not found: {0}")]
    ImageNotFound(String),

    #[error("{0}")]
    Usage(String),
}

impl Error {
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }

    pub fn corrupt(input: impl Into<String>, reason: impl Into<String>) -> Self {
        Error::Corrupt {
            input: input.into(),
            reason: reason.into(),
        }
    }

    /// A document that does not parse, its parser's message on one line.
    pub fn parse(input: impl Into<String>, err: impl std::fmt::Display) -> Self {
        Error::corrupt(input, crate::format::one_line(&err.to_string()))
    }

    pub fn unsupported(input: impl Into<String>, reason: impl Into<String>) -> Self {
        Error::Unsupported {
            input: input.into(),
            reason: reason.into(),
        }
    }
}
