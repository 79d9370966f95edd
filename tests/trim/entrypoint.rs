//! The entrypoint/command safety check in the forms images use: exec form, shell form
//! (`/bin/sh -c "python /app/main.py"`), a script relative to WORKDIR, `python -m pkg`, and
//! wrappers that run their arguments.

use pyslim::core::examine;
use pyslim::core::findings::RuleSet;
use pyslim::core::trim_image::plan_removal;
use pyslim::core::trim_image::safety::{self, Breakage};
use pyslim::source::writer::{ArchiveFormat, SpecEntry};

use crate::common;
use crate::common::trim_spec::{spec, SITE};

/// The real-shaped image with this command, and the entrypoint messages of removing `paths`.
fn removing(entrypoint: &[&str], cmd: &[&str], workdir: &str, paths: &[&str]) -> Vec<String> {
    let mut s = spec();
    s.entrypoint = entrypoint.iter().map(|a| a.to_string()).collect();
    s.cmd = cmd.iter().map(|a| a.to_string()).collect();
    s.workdir = workdir.into();
    s.layers[3]
        .entries
        .push(SpecEntry::text("app/conf/app.toml", "x = 1\n"));
    s.layers[3].entries.push(SpecEntry::text(
        "usr/local/bin/entrypoint.sh",
        "#!/bin/sh\nexec \"$@\"\n",
    ));
    let dir = tempfile::tempdir().unwrap();
    let tar = common::write_tar(dir.path(), "t.tar", &s, ArchiveFormat::DockerLegacy);
    let image = common::open(&tar).unwrap();
    let ex = examine(&image, Some(&RuleSet::builtin().unwrap()), 20);
    let mut chosen = vec![false; ex.tree.nodes.len()];
    for p in paths {
        chosen[ex.tree.lookup(p).unwrap_or_else(|| panic!("{p}")) as usize] = true;
    }
    let plan = plan_removal(&image, &ex.tree, &chosen);
    // Only the entrypoint's problems: removing the interpreter is refused for itself too.
    safety::check(&image, &ex, &plan.removed)
        .into_iter()
        .filter(|p| p.kind == Breakage::Entrypoint)
        .map(|p| p.message)
        .collect()
}

const MAIN_GONE: &str =
    "the image's entrypoint/command names /app/main.py, and the trim removes /app/main.py";

#[test]
fn a_shell_form_command_is_looked_into() {
    let sh = ["/bin/sh", "-c", "python3 /app/main.py"];
    assert_eq!(removing(&[], &sh, "", &["app/main.py"]), [MAIN_GONE]);
    // Lists, `exec` and assignments too; the interpreter it runs is checked as well.
    let list = [
        "/bin/sh",
        "-c",
        "cd /app && FLASK_ENV=prod exec python3 main.py --port 80",
    ];
    assert_eq!(removing(&[], &list, "/app", &["app/main.py"]), [MAIN_GONE]);
    assert_eq!(
        removing(&[], &list, "/app", &["usr/bin/python3.11"])
            .iter()
            .filter(|m| m.contains("entrypoint/command names /opt/venv/bin/python3"))
            .count(),
        1
    );
    // Nothing it names goes: no problem.
    assert_eq!(
        removing(&[], &sh, "", &["usr/include"]),
        Vec::<String>::new()
    );
}

#[test]
fn a_script_relative_to_workdir_is_found() {
    let cmd = ["python3", "main.py"];
    assert_eq!(removing(&[], &cmd, "/app", &["app/main.py"]), [MAIN_GONE]);
    assert_eq!(
        removing(&[], &["python3", "./main.py"], "/app/", &["app/main.py"]),
        [MAIN_GONE]
    );
    // Options before the script are skipped, values of -W/-X too.
    assert_eq!(
        removing(
            &[],
            &["python3", "-u", "-X", "dev", "main.py"],
            "/app",
            &["app/main.py"]
        ),
        [MAIN_GONE]
    );
    // A relative argument of another program, when WORKDIR has it.
    assert_eq!(
        removing(
            &["/usr/local/bin/entrypoint.sh"],
            &["python3", "main.py", "conf/app.toml"],
            "/app",
            &["app/conf/app.toml"]
        ),
        Vec::<String>::new(),
        "python's own arguments after the script are the script's"
    );
}

#[test]
fn python_dash_m_keeps_the_package_it_runs() {
    let cmd = ["python3", "-m", "flask", "run"];
    assert_eq!(
        removing(&[], &cmd, "/app", &[&format!("{SITE}/flask/__init__.py")]),
        [format!("the image's entrypoint/command runs module flask (python -m flask), and the trim removes /{SITE}/flask/__init__.py")]
    );
    // A submodule: its package's __init__ and the module file.
    let sub = ["python3", "-m", "werkzeug.serving"];
    assert_eq!(
        removing(&[], &sub, "", &[&format!("{SITE}/werkzeug/serving.py")]),
        [format!("the image's entrypoint/command runs module werkzeug.serving (python -m werkzeug.serving), and the trim removes /{SITE}/werkzeug/serving.py")]
    );
    // Other files of the package (its tests) may go.
    assert_eq!(
        removing(
            &[],
            &["python3", "-m", "numpy"],
            "",
            &[&format!("{SITE}/numpy/tests/test_ufunc.py")]
        ),
        Vec::<String>::new()
    );
    // The whole distribution removed is refused through its __init__.
    assert_eq!(
        removing(&[], &cmd, "", &[&format!("{SITE}/flask")]).len(),
        1
    );
}

#[test]
fn a_wrapper_entrypoint_runs_the_command_after_it() {
    let ep = ["/usr/local/bin/entrypoint.sh"];
    assert_eq!(
        removing(&ep, &["python3", "main.py"], "/app", &["app/main.py"]),
        [MAIN_GONE]
    );
    assert_eq!(
        removing(&ep, &["python3", "main.py"], "/app", &["usr/local/bin/entrypoint.sh"]),
        ["the image's entrypoint/command names /usr/local/bin/entrypoint.sh, and the trim removes /usr/local/bin/entrypoint.sh"]
    );
}
