//! Temporary files beside an output: hidden, named uniquely (process id and a counter), and
//! created with `create_new`, so a user's file that happens to share the name is never
//! truncated, and removed again only by the guard that created it — or, when Ctrl-C or
//! SIGTERM ends the process (no destructors run), by `remove_on_signals`.

use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};

use pyslim_core::error::{Error, Result};

static COUNTER: AtomicU64 = AtomicU64::new(0);

/// The temporary files alive now: what a signal must remove.
static LIVE: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());

fn live() -> MutexGuard<'static, Vec<PathBuf>> {
    // A list of paths stays usable even if a thread panicked while holding it.
    LIVE.lock().unwrap_or_else(PoisonError::into_inner)
}

/// What must be undone before a signal ends the process, besides temporary files: the
/// explorer puts the terminal in raw mode, and a process killed in it would leave the
/// user's shell with no echo and no line editing.
static ON_SIGNAL: Mutex<Option<fn()>> = Mutex::new(None);

/// Sets (or clears) what runs when SIGINT or SIGTERM ends the process.
pub fn on_signal(hook: Option<fn()>) {
    *ON_SIGNAL.lock().unwrap_or_else(PoisonError::into_inner) = hook;
}

/// On SIGINT or SIGTERM, removes every live temporary file, then ends the process as the
/// signal would have (the shell sees 130 for Ctrl-C), so scripts still see an interrupt.
/// Called once by the binary at start-up.
pub fn remove_on_signals() -> Result<()> {
    use signal_hook::consts::{SIGINT, SIGTERM};
    let mut signals = signal_hook::iterator::Signals::new([SIGINT, SIGTERM])
        .map_err(|e| Error::io("signal handlers", e))?;
    std::thread::spawn(move || {
        if let Some(sig) = signals.forever().next() {
            // Held until the end: no temporary file can be created after this sweep.
            let paths = live();
            for p in paths.iter() {
                let _ = std::fs::remove_file(p);
            }
            let hook = *ON_SIGNAL.lock().unwrap_or_else(PoisonError::into_inner);
            if let Some(hook) = hook {
                hook();
            }
            let _ = signal_hook::low_level::emulate_default_handler(sig);
            // Only reached if the default action could not be restored.
            std::process::exit(128 + sig);
        }
    });
    Ok(())
}

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
        // Created and registered under the lock, so a signal's sweep sees every file.
        let mut live = live();
        for _ in 0..1000 {
            let n = COUNTER.fetch_add(1, Ordering::Relaxed);
            let path = dir.join(format!(".{stem}.{pid}-{n}.{what}.partial"));
            match std::fs::OpenOptions::new()
                .write(true)
                .read(true)
                .create_new(true)
                .open(&path)
            {
                Ok(file) => {
                    live.push(path.clone());
                    return Ok((Partial { path, done: false }, file));
                }
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
        forget(&self.path);
        Ok(())
    }
}

fn forget(path: &Path) {
    live().retain(|p| p != path);
}

impl Drop for Partial {
    fn drop(&mut self) {
        if !self.done {
            let _ = std::fs::remove_file(&self.path);
            forget(&self.path);
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
        let is_live = |p: &Path| live().iter().any(|l| l == p);
        assert!(is_live(a.path()) && is_live(&kept), "what a signal removes");
        b.persist(&dir.path().join("done")).unwrap();
        assert!(!kept.exists() && dir.path().join("done").exists());
        assert!(!is_live(&kept));
        let gone = a.path().to_owned();
        drop(a);
        assert!(!gone.exists() && !is_live(&gone));
        assert_eq!(std::fs::read_to_string(&theirs).unwrap(), "mine");
    }
}
