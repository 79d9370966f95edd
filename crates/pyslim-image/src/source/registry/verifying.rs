//! A blob as it arrives: hashed (a registry is not trusted), counted for the progress bar,
//! and remembering why the transfer failed when it did.

use std::io::{self, Read};

use sha2::{Digest, Sha256};

use super::progress::Progress;

/// Hashes and counts a blob as it passes, and moves the progress bar.
pub(super) struct Verifying<'a> {
    inner: Box<dyn Read + Send>,
    hasher: Sha256,
    pub(super) bytes: u64,
    progress: &'a Progress,
    /// Why the transfer failed, when it did (a timeout, a reset).
    pub(super) broke: Option<String>,
}

impl<'a> Verifying<'a> {
    pub(super) fn new(inner: Box<dyn Read + Send>, progress: &'a Progress) -> Self {
        Verifying {
            inner,
            hasher: Sha256::new(),
            bytes: 0,
            progress,
            broke: None,
        }
    }

    pub(super) fn digest(&self) -> String {
        format!("sha256:{}", hex::encode(self.hasher.clone().finalize()))
    }
}

impl Read for Verifying<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf).inspect_err(|e| {
            self.broke = Some(pyslim_core::format::one_line(&e.to_string()));
        })?;
        self.hasher.update(&buf[..n]);
        self.bytes += n as u64;
        self.progress.bytes(n as u64);
        Ok(n)
    }
}
