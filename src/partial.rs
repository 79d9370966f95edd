//! Temporary files beside an output: hidden, named uniquely (process id and a counter), and
//! created with `create_new`, so a user's file that happens to share the name is never
//! truncated, and removed again only by the guard that created it.

use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use crate::error::{Error, Result};

static COUNTER: AtomicU64 = AtomicU64::new(0);

/// A file this process created; removed on drop unless `persist`ed under its final name.
#[derive(Debug)]
pub struct Partial {
    path: PathBuf,
    done: bool,
}

impl Partial {
    /// Creates `DIR/.STEM.PID-N.WHAT.partial`, where DIR and STEM come from `beside`
    /// (`out/x.tar` → `out/.x.tar.1234-0.layer3.partial`). A name already taken (by anyone)
    /// is never opened: the next counter is tried.
    pub fn create(beside: &Path, what: &str) -> Result<(Partial, File)> {
        let dir = beside
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        let stem = beside
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "pyslim".into());
        let pid = std::process::id();
        let mut last = None;
        for _ in 0..1000 {
            let n = COUNTER.fetch_add(1, Ordering::Relaxed);
            let path = dir.join(format!(".{stem}.{pid}-{n}.{what}.partial"));
            match std::fs::OpenOptions::new()
                .write(true)
                .read(true)
                .create_new(true)
                .open(&path)
            {
                Ok(file) => return Ok((Partial { path, done: false }, file)),
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => last = Some((path, e)),
                Err(e) => return Err(Error::io(&path, e)),
            }
        }
        let (path, e) =
            last.unwrap_or_else(|| (dir.to_owned(), io::Error::other("no free temporary name")));
        Err(Error::io(path, e))
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Renames the file to `to` (replacing what is there: the caller decided it may).
    pub fn persist(mut self, to: &Path) -> Result<()> {
        std::fs::rename(&self.path, to).map_err(|e| Error::io(to, e))?;
        self.done = true;
        Ok(())
    }
}

impl Drop for Partial {
    fn drop(&mut self) {
        if !self.done {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_of_the_old_fixed_name_is_left_alone_and_names_never_repeat() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("x.tar");
        // What the old code would have truncated and deleted.
        let theirs = dir.path().join(".x.tar.partial");
        std::fs::write(&theirs, "mine").unwrap();
        let (a, _) = Partial::create(&out, "layer0").unwrap();
        let (b, _) = Partial::create(&out, "layer0").unwrap();
        assert_ne!(a.path(), b.path());
        let name = a.path().file_name().unwrap().to_string_lossy().into_owned();
        assert!(
            name.starts_with(".x.tar.") && name.ends_with(".layer0.partial"),
            "{name}"
        );
        let kept = b.path().to_owned();
        b.persist(&dir.path().join("done")).unwrap();
        assert!(!kept.exists() && dir.path().join("done").exists());
        let gone = a.path().to_owned();
        drop(a);
        assert!(!gone.exists());
        assert_eq!(std::fs::read_to_string(&theirs).unwrap(), "mine");
    }
}
