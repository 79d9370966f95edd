//! Trimming sessions: the session itself, the explorer's trim screen, and `pyslim trim
//! --decisions` writing a report, a Dockerfile patch that applies, and the decisions.

mod common;

use std::process::Command;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use pyslim::core::examine;
use pyslim::core::findings::RuleSet;
use pyslim::core::trim_session::{Decision, DecisionsFile, Session};
use pyslim::source::writer::{ArchiveFormat, ImageSpec, LayerSpec, SpecEntry};
use pyslim::tui::app::{App, Effect, Mode};
use pyslim::tui::keymap::Keymap;

const APT: &str = "apt-get update && apt-get install -y gcc libpq-dev";
const PIP: &str = "pip install -r requirements.txt";

fn spec() -> ImageSpec {
    ImageSpec::new(
        "t/trim:1",
        vec![
            LayerSpec::new("/bin/sh -c #(nop) ADD file:base in / ", vec![SpecEntry::file("usr/lib/x86_64-linux-gnu/libc.so.6", 2_000_000), SpecEntry::file("usr/local/bin/python3.12", 20_000)]),
            LayerSpec::new(
                &format!("/bin/sh -c {APT}"),
                vec![
                    SpecEntry::file("var/lib/apt/lists/deb.debian.org_debian_dists_bookworm_main_binary-amd64_Packages", 9_000_000),
                    SpecEntry::file("usr/include/libpq-fe.h", 40_000),
                    SpecEntry::file("usr/lib/x86_64-linux-gnu/libpq.a", 1_400_000),
                ],
            ),
            LayerSpec::new("/bin/sh -c #(nop) COPY file:req in /app/requirements.txt ", vec![SpecEntry::text("app/requirements.txt", "flask\n")]),
            LayerSpec::new(
                &format!("/bin/sh -c {PIP}"),
                vec![SpecEntry::file("root/.cache/pip/http-v2/a.body", 3_000_000), SpecEntry::file("usr/local/lib/python3.12/site-packages/flask/app.py", 60_000)],
            ),
        ],
    )
}

const DOCKERFILE: &str = "FROM python:3.12-slim\n\nRUN apt-get update && \\\n    apt-get install -y gcc libpq-dev\nCOPY requirements.txt /app/requirements.txt\nRUN pip install -r requirements.txt\nCMD [\"python\", \"-m\", \"flask\", \"run\"]\n";

fn examined() -> (pyslim::Image, pyslim::core::Examination) {
    let dir = tempfile::tempdir().unwrap();
    let path = common::write_tar(dir.path(), "t.tar", &spec(), ArchiveFormat::DockerLegacy);
    let image = common::open(&path).unwrap();
    let ex = examine(&image, Some(&RuleSet::builtin().unwrap()), 20);
    (image, ex)
}

#[test]
fn a_session_walks_biggest_first_projects_once_and_undoes() {
    let (image, ex) = examined();
    let rules = RuleSet::builtin().unwrap();
    let mut s = Session::new(&ex);
    assert_eq!(s.keys[0], "apt-lists", "{:?}", s.keys);
    let sizes: Vec<u64> = s
        .order
        .iter()
        .map(|&i| ex.findings.findings[i].bytes)
        .collect();
    assert!(sizes.windows(2).all(|w| w[0] >= w[1]), "{sizes:?}");
    let before = ex.analysis.totals.layer_bytes;
    assert_eq!(s.projection(&image, &ex, &rules, None).after, before);
    s.decide(Decision::Accept); // apt lists, 9 MB
    assert_eq!(s.projection(&image, &ex, &rules, None).saved(), 9_000_000);
    s.decide(Decision::Skip);
    s.undo();
    assert_eq!(s.cursor, 1);
    // Accept everything left: headers + libpq.a sit in two findings (-dev package? here
    // headers and static libraries) but count once.
    while !s.done() {
        s.decide(Decision::Accept);
    }
    assert_eq!(
        s.projection(&image, &ex, &rules, None).saved(),
        9_000_000 + 40_000 + 1_400_000 + 3_000_000
    );
    // The decisions file says it all, and reads back into the same choices.
    let file = s.to_file(&image, &ex);
    let again = DecisionsFile::parse("d.toml", &file.to_toml()).unwrap();
    let mut t = Session::new(&ex);
    t.apply_file("d.toml", &again).unwrap();
    assert_eq!(t.decisions, s.decisions);
    let bad = DecisionsFile::parse(
        "d.toml",
        "[[decision]]\nfinding = \"nope\"\naccept = true\n",
    )
    .unwrap();
    let err = Session::new(&ex)
        .apply_file("d.toml", &bad)
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with("d.toml: no finding \"nope\" in this image"),
        "{err}"
    );
}

#[test]
fn trim_from_a_decisions_file_writes_a_patch_that_applies() {
    let dir = tempfile::tempdir().unwrap();
    let tar = common::write_tar(dir.path(), "t.tar", &spec(), ArchiveFormat::DockerLegacy);
    let work = dir.path().join("ctx");
    std::fs::create_dir(&work).unwrap();
    std::fs::write(work.join("Dockerfile"), DOCKERFILE).unwrap();
    std::fs::write(work.join("d.toml"), "[[decision]]\nfinding = \"apt-lists\"\naccept = true\n\n[[decision]]\nfinding = \"pip-cache\"\naccept = true\n\n[[decision]]\nfinding = \"static-libraries\"\naccept = false\n").unwrap();
    let run = || {
        assert_cmd::Command::cargo_bin("pyslim")
            .unwrap()
            .current_dir(&work)
            .arg("trim")
            .arg(&tar)
            .args(["--decisions", "d.toml", "-o", "out"])
            .output()
            .unwrap()
    };
    let out = run();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(
        stdout.contains("with the accepted fixes (11.44 MiB less)"),
        "{stdout}"
    );
    let patch = std::fs::read_to_string(work.join("out.patch")).unwrap();
    assert!(
        patch.contains("+    && rm -rf /var/lib/apt/lists/*"),
        "{patch}"
    );
    assert!(patch.contains("+ENV PIP_NO_CACHE_DIR=1"), "{patch}");
    assert!(patch.contains("+    && rm -rf /root/.cache/pip"), "{patch}");
    assert!(!patch.contains("*.a"), "a skipped finding changes nothing");
    // The patch applies to the user's Dockerfile.
    let check = Command::new("patch")
        .current_dir(&work)
        .args(["-p1", "--dry-run", "-i", "out.patch"])
        .output();
    if let Ok(check) = check {
        assert!(
            check.status.success(),
            "patch: {}{}",
            String::from_utf8_lossy(&check.stdout),
            String::from_utf8_lossy(&check.stderr)
        );
    }
    let report = std::fs::read_to_string(work.join("out.md")).unwrap();
    assert!(
        report.contains("| accepted | apt package lists"),
        "{report}"
    );
    assert!(report.contains("| skipped | Static libraries"), "{report}");
    let decisions = std::fs::read_to_string(work.join("out.decisions.toml")).unwrap();
    assert!(decisions.contains("finding = \"apt-lists\"") && decisions.contains("accept = true"));
    // The user's Dockerfile is untouched, and a second run never writes over the outputs.
    assert_eq!(
        std::fs::read_to_string(work.join("Dockerfile")).unwrap(),
        DOCKERFILE
    );
    let before = std::fs::read_to_string(work.join("out.md")).unwrap();
    let again = run();
    assert_eq!(again.status.code(), Some(2));
    let err = String::from_utf8(again.stderr).unwrap();
    assert_eq!(
        err.trim_end(),
        "pyslim: out.tar exists; pyslim never writes over a file unless --force: choose another prefix with -o"
    );
    assert_eq!(
        std::fs::read_to_string(work.join("out.md")).unwrap(),
        before
    );
    // A report the user edited is theirs: refused even with the archive gone.
    let tar_bytes = std::fs::read(work.join("out.tar")).unwrap();
    std::fs::remove_file(work.join("out.tar")).unwrap();
    let edited = format!("{before}\nmy notes\n");
    std::fs::write(work.join("out.md"), &edited).unwrap();
    let again = run();
    assert_eq!(again.status.code(), Some(2));
    assert_eq!(
        String::from_utf8(again.stderr).unwrap().trim_end(),
        "pyslim: out.md exists; pyslim never writes over a file unless --force: choose another prefix with -o"
    );
    assert_eq!(
        std::fs::read_to_string(work.join("out.md")).unwrap(),
        edited
    );
    assert!(!work.join("out.tar").exists());
    std::fs::write(work.join("out.md"), &before).unwrap();
    std::fs::write(work.join("out.tar"), tar_bytes).unwrap();
    let mut names: Vec<String> = std::fs::read_dir(&work)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(
        names,
        vec![
            "Dockerfile",
            "d.toml",
            "out.decisions.toml",
            "out.md",
            "out.patch",
            "out.tar"
        ]
    );
}

#[test]
fn the_explorer_runs_a_session_and_asks_the_loop_to_write() {
    let image = pyslim::demo::image().unwrap();
    let ex = examine(&image, Some(&RuleSet::builtin().unwrap()), 20);
    let mut app = App::new(image, ex, Keymap::load(None).unwrap());
    let press = |app: &mut App, c: char| {
        app.handle_key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE))
    };
    press(&mut app, 't');
    assert_eq!(app.mode(), Mode::Trim);
    let before = app.trim().unwrap().projection.clone();
    press(&mut app, 'y'); // compilers, the biggest
    press(&mut app, 'n');
    press(&mut app, 'u');
    press(&mut app, 'y');
    let t = app.trim().unwrap();
    assert_eq!(t.session.cursor, 2);
    assert!(t.projection.after < before.after);
    insta::assert_snapshot!("trim_step_80x24", screen(&mut app, 80, 24));
    insta::assert_snapshot!("trim_step_160x48", screen(&mut app, 160, 48));
    press(&mut app, 'f');
    assert!(app.trim().unwrap().finishing);
    insta::assert_snapshot!("trim_finish_80x24", screen(&mut app, 80, 24));
    insta::assert_snapshot!("trim_finish_160x48", screen(&mut app, 160, 48));
    app.handle_key(KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE));
    let Some(Effect::WriteTrim(out, prefix)) = app.take_effect() else {
        panic!("no write asked")
    };
    assert_eq!(prefix, "pyslim-trim");
    assert!(out.report.contains("accepted"));
    assert!(out.patch.is_none(), "no Dockerfile known");
    app.trim_written(Ok(vec!["pyslim-trim.md".into()]));
    app.handle_key(KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE));
    assert_eq!(app.mode(), Mode::Normal);
}

fn screen(app: &mut App, w: u16, h: u16) -> String {
    common::render_text(w, h, |f, theme| pyslim::tui::view::draw(f, app, theme))
}

#[test]
fn the_trim_screen_writes_the_trimmed_image_after_the_session_files() {
    let dir = tempfile::tempdir().unwrap();
    let prefix = dir.path().join("trimmed").display().to_string();
    let tar = common::write_tar(dir.path(), "t.tar", &spec(), ArchiveFormat::DockerLegacy);
    let image = common::open(&tar).unwrap();
    let ex = examine(&image, Some(&RuleSet::builtin().unwrap()), 20);
    let mut app = App::new(image, ex, Keymap::load(None).unwrap());
    app.set_rules(RuleSet::builtin().unwrap());
    app.set_trim_prefix(prefix.clone());
    let key =
        |app: &mut App, code: KeyCode| app.handle_key(KeyEvent::new(code, KeyModifiers::NONE));
    key(&mut app, KeyCode::Char('t'));
    // Accept the three biggest findings, then finish.
    for _ in 0..3 {
        key(&mut app, KeyCode::Char('y'));
    }
    key(&mut app, KeyCode::Char('f'));
    // Before the session's files are written, `i` is part of the prefix being typed.
    key(&mut app, KeyCode::Enter);
    let Some(Effect::WriteTrim(out, p)) = app.take_effect() else {
        panic!("no write asked")
    };
    app.trim_written(
        pyslim::report::trim::write(std::path::Path::new(&p), &out).map_err(|e| e.to_string()),
    );
    assert!(app.trim().unwrap().written);
    assert!(screen(&mut app, 160, 48).contains("i write the trimmed image PREFIX.tar"));
    key(&mut app, KeyCode::Char('i'));
    let Some(Effect::WriteTrimmedImage(plan, path)) = app.take_effect() else {
        panic!("no image write asked: {:?}", app.trim().unwrap().message)
    };
    assert_eq!(path, std::path::PathBuf::from(format!("{prefix}.tar")));
    let result = pyslim::tui::write_trimmed_image(&mut app, &plan, &path);
    let line = result.clone().unwrap();
    app.trim_image_written(result);
    assert!(screen(&mut app, 160, 48).contains(&line[..40]), "{line}");
    // The archive holds the image without the accepted findings' paths.
    let trimmed = common::open(&path).unwrap();
    assert_eq!(trimmed.layers.len(), app.image().layers.len());
    let tree = pyslim::Tree::build(&trimmed.layers);
    let t = app.trim().unwrap();
    let accepted: Vec<_> = t.session.accepted(app.examination()).collect();
    assert_eq!(accepted.len(), 3);
    let mut checked = 0;
    for f in accepted
        .iter()
        .filter(|f| f.rule != "unstripped-binaries" && f.rule != "wasted-bytes")
    {
        for item in &f.items {
            if app.examination().tree.lookup(&item.name).is_some() {
                assert!(
                    !tree.lookup(&item.name).is_some_and(|n| tree.is_visible(n)),
                    "{} ({}) is still there",
                    item.name,
                    f.rule
                );
                checked += 1;
            }
        }
    }
    assert!(checked > 0);
    // The same key again refuses to write over the archive.
    key(&mut app, KeyCode::Char('i'));
    let Some(Effect::WriteTrimmedImage(plan, path)) = app.take_effect() else {
        panic!("no image write asked")
    };
    let again = pyslim::tui::write_trimmed_image(&mut app, &plan, &path).unwrap_err();
    assert!(
        again.ends_with(
            "exists; pyslim never writes over a file unless --force: choose another prefix with -o"
        ),
        "{again}"
    );
}

#[test]
fn esc_or_q_cancels_a_session_writing_nothing_and_ctrl_c_quits() {
    let dir = tempfile::tempdir().unwrap();
    let tar = common::write_tar(dir.path(), "t.tar", &spec(), ArchiveFormat::DockerLegacy);
    let fresh = || {
        let image = common::open(&tar).unwrap();
        let ex = examine(&image, Some(&RuleSet::builtin().unwrap()), 20);
        let mut app = App::new(image, ex, Keymap::load(None).unwrap());
        app.set_trim_prefix(dir.path().join("out").display().to_string());
        app.handle_key(KeyEvent::new(KeyCode::Char('t'), KeyModifiers::NONE));
        app.handle_key(KeyEvent::new(KeyCode::Char('y'), KeyModifiers::NONE));
        assert_eq!(app.mode(), Mode::Trim);
        app
    };
    for cancel in [KeyCode::Esc, KeyCode::Char('q')] {
        let mut app = fresh();
        app.handle_key(KeyEvent::new(cancel, KeyModifiers::NONE));
        assert_eq!(app.mode(), Mode::Normal, "{cancel:?}");
        assert!(app.trim().is_none(), "{cancel:?}");
        assert!(app.take_effect().is_none(), "{cancel:?} asked to write");
        assert!(!app.quits(), "{cancel:?} quit the explorer");
        // `pyslim trim` is the session alone: cancelling it quits.
        let mut app = fresh();
        app.set_trim_only(true);
        app.handle_key(KeyEvent::new(cancel, KeyModifiers::NONE));
        assert!(app.quits() && app.take_effect().is_none(), "{cancel:?}");
    }
    // Ctrl-C quits, on a step and on the finish screen (where letters type the prefix).
    let mut app = fresh();
    app.handle_key(KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL));
    assert!(app.quits() && app.take_effect().is_none());
    let mut app = fresh();
    app.handle_key(KeyEvent::new(KeyCode::Char('f'), KeyModifiers::NONE));
    assert!(app.trim().unwrap().finishing);
    app.handle_key(KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL));
    assert!(app.quits() && app.take_effect().is_none());
    assert_eq!(common::dir_names(dir.path()), ["t.tar"]);
}

#[test]
fn a_later_rm_moves_into_the_run_that_wrote_the_files() {
    const WHEELS: &str =
        "pip wheel -w /tmp/wheels -r requirements.txt && pip install /tmp/wheels/*.whl";
    let spec = ImageSpec::new(
        "t/wheels:1",
        vec![
            LayerSpec::new(
                "/bin/sh -c #(nop) ADD file:base in / ",
                vec![SpecEntry::file("usr/local/bin/python3.12", 20_000)],
            ),
            LayerSpec::new(
                &format!("/bin/sh -c {WHEELS}"),
                vec![
                    SpecEntry::file("tmp/wheels/numpy-1.26.4-cp312-manylinux.whl", 18_000_000),
                    SpecEntry::file(
                        "usr/local/lib/python3.12/site-packages/numpy/core.py",
                        50_000,
                    ),
                ],
            ),
            LayerSpec::new(
                "/bin/sh -c rm -rf /tmp/wheels",
                vec![SpecEntry::whiteout("tmp/wheels")],
            ),
        ],
    );
    let dockerfile =
        format!("FROM python:3.12-slim\nRUN {WHEELS}\nRUN rm -rf /tmp/wheels\nCMD [\"python\"]\n");
    let dir = tempfile::tempdir().unwrap();
    let path = common::write_tar(dir.path(), "t.tar", &spec, ArchiveFormat::DockerLegacy);
    let image = common::open(&path).unwrap();
    let rules = RuleSet::builtin().unwrap();
    let ex = examine(&image, Some(&rules), 20);
    let mut s = Session::new(&ex);
    let key = s
        .keys
        .iter()
        .find(|k| k.starts_with("wasted-bytes"))
        .cloned()
        .unwrap_or_else(|| panic!("no wasted bytes: {:?}", s.keys));
    let text = format!("[[decision]]\nfinding = \"{key}\"\naccept = true\n");
    s.apply_file("d", &DecisionsFile::parse("d", &text).unwrap())
        .unwrap();
    let out =
        pyslim::report::trim::build(&image, &ex, &rules, &s, Some(("Dockerfile", &dockerfile)));
    let (_, new) = out.patch.as_ref().unwrap();
    assert!(
        new.contains(&format!("RUN {WHEELS} \\\n    && rm -rf /tmp/wheels\n")),
        "{new}"
    );
    assert_eq!(
        out.projection.patch_saved,
        Some(18_000_000),
        "{}",
        out.report
    );
    assert!(!out.report.contains("manual, 0 B"), "{}", out.report);
}
