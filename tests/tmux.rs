//! End to end in a real terminal: tmux runs `pyslim explore --demo`, keys are sent, and the
//! captured pane is checked. Skips with a printed reason when tmux is missing, unless
//! PYSLIM_REQUIRE_TMUX=1 (set by .ci/run), when it fails instead.

use std::process::Command;
use std::thread::sleep;
use std::time::{Duration, Instant};

struct Session(String);

impl Drop for Session {
    fn drop(&mut self) {
        let _ = Command::new("tmux")
            .args(["kill-session", "-t", &self.0])
            .output();
    }
}

fn tmux(args: &[&str]) -> String {
    let out = Command::new("tmux").args(args).output().expect("tmux runs");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn capture(session: &str) -> String {
    tmux(&["capture-pane", "-t", session, "-p"])
}

/// Waits until the pane shows `text` (the explorer draws asynchronously).
fn wait_for(session: &str, text: &str) -> String {
    let start = Instant::now();
    loop {
        let screen = capture(session);
        if screen.contains(text) {
            return screen;
        }
        if start.elapsed() > Duration::from_secs(10) {
            panic!("the pane never showed {text:?}; it shows:\n{screen}");
        }
        sleep(Duration::from_millis(100));
    }
}

#[test]
fn explore_the_demo_image_in_tmux() {
    if Command::new("tmux").arg("-V").output().is_err() {
        if std::env::var("PYSLIM_REQUIRE_TMUX").as_deref() == Ok("1") {
            panic!("tmux is not installed and PYSLIM_REQUIRE_TMUX=1");
        }
        eprintln!("skipping explore_the_demo_image_in_tmux: tmux is not installed");
        return;
    }
    let bin = assert_cmd::cargo::cargo_bin("pyslim");
    let name = format!("pyslim-e2e-{}", std::process::id());
    let cmd = format!("{} explore --demo", bin.display());
    let out = Command::new("tmux")
        .args([
            "new-session",
            "-d",
            "-s",
            &name,
            "-x",
            "120",
            "-y",
            "36",
            "-e",
            "NO_COLOR=1",
            &cmd,
        ])
        .output()
        .expect("tmux starts");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let session = Session(name.clone());

    let screen = wait_for(&session.0, "Files · image at layer 5");
    assert!(screen.contains("pyslim-demo/flask-app:latest"));
    assert!(screen.contains("Compilers and build tools"));

    // Into the tree, open usr (the largest directory).
    tmux(&["send-keys", "-t", &session.0, "Tab", "l"]);
    let screen = wait_for(&session.0, "▾ usr");
    assert!(screen.contains("local"), "{screen}");

    // Search, and open a file a later layer deleted.
    tmux(&["send-keys", "-t", &session.0, "/"]);
    // The empty box says how many paths it searches and the query syntax.
    wait_for(&session.0, "type to search");
    tmux(&["send-keys", "-t", &session.0, "-l", "idrsa"]);
    wait_for(&session.0, "/root/.ssh/id_rsa");
    tmux(&["send-keys", "-t", &session.0, "Enter"]);
    let screen = wait_for(&session.0, "history added in layer 4");
    assert!(screen.contains("/root/.ssh/id_rsa"), "{screen}");
    assert!(screen.contains("removed in layer 5"), "{screen}");

    // Help, then quit: the session ends with the program.
    tmux(&["send-keys", "-t", &session.0, "?"]);
    wait_for(&session.0, "fuzzy search every path");
    // Escape and q sent together read as Alt-q: close the help, then quit.
    tmux(&["send-keys", "-t", &session.0, "Escape"]);
    wait_for(&session.0, "Files · image at layer 5");
    tmux(&["send-keys", "-t", &session.0, "q"]);
    let start = Instant::now();
    while tmux(&["list-sessions"]).contains(&session.0) {
        assert!(
            start.elapsed() < Duration::from_secs(5),
            "pyslim did not quit"
        );
        sleep(Duration::from_millis(100));
    }
}

/// The pids of `pid`'s children.
fn children(pid: &str) -> Vec<String> {
    std::fs::read_to_string(format!("/proc/{pid}/task/{pid}/children"))
        .unwrap_or_default()
        .split_whitespace()
        .map(str::to_owned)
        .collect()
}

#[test]
fn sigterm_gives_the_terminal_back() {
    if Command::new("tmux").arg("-V").output().is_err() {
        if std::env::var("PYSLIM_REQUIRE_TMUX").as_deref() == Ok("1") {
            panic!("tmux is not installed and PYSLIM_REQUIRE_TMUX=1");
        }
        eprintln!("skipping sigterm_gives_the_terminal_back: tmux is not installed");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let stty = dir.path().join("stty");
    let bin = assert_cmd::cargo::cargo_bin("pyslim");
    let name = format!("pyslim-term-{}", std::process::id());
    // The shell reads the terminal's modes once pyslim has gone, then waits to be killed.
    let cmd = format!(
        "sh -c '{} explore --demo; stty -a > {}; sleep 60'",
        bin.display(),
        stty.display()
    );
    let out = Command::new("tmux")
        .args([
            "new-session",
            "-d",
            "-s",
            &name,
            "-x",
            "120",
            "-y",
            "36",
            "-e",
            "NO_COLOR=1",
            &cmd,
        ])
        .output()
        .expect("tmux starts");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let session = Session(name.clone());
    wait_for(&session.0, "Files · image at layer 5");
    let shell = tmux(&["display-message", "-p", "-t", &session.0, "#{pane_pid}"]);
    let pyslim = children(shell.trim());
    assert_eq!(pyslim.len(), 1, "the shell runs pyslim alone: {pyslim:?}");
    let killed = Command::new("kill")
        .args(["-TERM", &pyslim[0]])
        .status()
        .expect("kill runs");
    assert!(killed.success());
    let start = Instant::now();
    let modes = loop {
        match std::fs::read_to_string(&stty) {
            Ok(t) if !t.is_empty() => break t,
            _ => {}
        }
        assert!(start.elapsed() < Duration::from_secs(10), "stty never ran");
        sleep(Duration::from_millis(100));
    };
    let words: Vec<&str> = modes.split_whitespace().collect();
    for mode in ["icanon", "echo", "isig"] {
        assert!(
            words.contains(&mode),
            "{mode} is off after SIGTERM:\n{modes}"
        );
    }
}
