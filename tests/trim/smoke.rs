//! The default smoke test's plan: every kept distribution's top-level module, imported by
//! the interpreter that owns the directory it was installed into (a venv's python does not
//! see the system's dist-packages, and the reverse).

use pyslim::core::examine;
use pyslim::core::findings::RuleSet;
use pyslim::core::trim_image::smoke;
use pyslim::source::writer::{ArchiveFormat, LayerSpec, SpecEntry};

use crate::common;
use crate::common::trim_spec;

const DIST: &str = "usr/lib/python3/dist-packages";

/// A Debian-installed distribution: files, METADATA and a RECORD, in dist-packages.
fn debian_dist(name: &str, version: &str, files: &[&str]) -> Vec<SpecEntry> {
    let info = format!("{DIST}/{name}-{version}.dist-info");
    let mut record = String::new();
    let mut out = Vec::new();
    for f in files {
        out.push(SpecEntry::file(&format!("{DIST}/{f}"), 1_000));
        record.push_str(&format!("{f},,\n"));
    }
    record.push_str(&format!("{name}-{version}.dist-info/METADATA,,\n"));
    out.push(SpecEntry::text(
        &format!("{info}/METADATA"),
        &format!("Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n"),
    ));
    out.push(SpecEntry::text(&format!("{info}/RECORD"), &record));
    out
}

#[test]
fn modules_are_grouped_by_the_interpreter_that_owns_their_site_packages() {
    let mut spec = trim_spec::spec();
    let mut system = debian_dist("wheel", "0.38.4", &["wheel/__init__.py", "wheel/cli.py"]);
    system.extend(debian_dist("six", "1.16.0", &["six.py"]));
    spec.layers.push(LayerSpec::new(
        "/bin/sh -c apt-get install -y python3-wheel python3-six",
        system,
    ));
    let dir = tempfile::tempdir().unwrap();
    let tar = common::write_tar(dir.path(), "t.tar", &spec, ArchiveFormat::DockerLegacy);
    let image = common::open(&tar).unwrap();
    let ex = examine(&image, Some(&RuleSet::builtin().unwrap()), 20);
    let removed = vec![false; ex.tree.nodes.len()];
    let plan = smoke::imports(&ex, &removed).expect("the image has python");
    assert_eq!(plan.python, "/opt/venv/bin/python");
    assert_eq!(
        plan.groups,
        vec![
            (
                "/opt/venv/bin/python".to_owned(),
                vec![
                    "flask".to_owned(),
                    "numpy".to_owned(),
                    "werkzeug".to_owned()
                ]
            ),
            (
                "/usr/bin/python3".to_owned(),
                vec!["six".to_owned(), "wheel".to_owned()]
            ),
        ]
    );
    // The script runs each group with its own interpreter.
    let argv = plan.command();
    assert_eq!(argv[0], "/opt/venv/bin/python");
    assert!(
        argv[2].contains(r#"("/usr/bin/python3", ["six", "wheel"])"#),
        "{}",
        argv[2]
    );
    // A removed distribution is not imported.
    let mut removed = removed;
    for n in ex.tree.final_nodes() {
        if ex.tree.path(n).starts_with(&format!("{DIST}/six")) {
            removed[n as usize] = true;
        }
    }
    let plan = smoke::imports(&ex, &removed).unwrap();
    assert_eq!(plan.groups[1].1, ["wheel"]);
}

/// The script itself, run by the host's python3 when it has one: a module only the second
/// interpreter can import passes, and a missing one fails with its name and interpreter.
#[test]
fn the_script_imports_each_group_with_its_interpreter() {
    let Ok(host) = which_python() else {
        eprintln!("skipping: no python3 on this host");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("only_here.py"), "").unwrap();
    // A wrapper interpreter that sees the extra directory, like a venv sees its own.
    let wrapper = dir.path().join("py-with-dir");
    std::fs::write(
        &wrapper,
        format!(
            "#!/bin/sh\nPYTHONPATH={} exec {host} \"$@\"\n",
            dir.path().display()
        ),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&wrapper, std::fs::Permissions::from_mode(0o755)).unwrap();
    let plan = smoke::SmokeImports {
        python: host.clone(),
        groups: vec![
            (host.clone(), vec!["json".into()]),
            (wrapper.display().to_string(), vec!["only_here".into()]),
        ],
    };
    let argv = plan.command();
    let out = std::process::Command::new(&argv[0])
        .args(&argv[1..])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}");
    assert!(stdout.contains("imported 2 of 2 modules"), "{stdout}");
    // The same module with the wrong interpreter fails, and says which.
    let wrong = smoke::SmokeImports {
        python: host.clone(),
        groups: vec![(host.clone(), vec!["only_here".into()])],
    };
    let argv = wrong.command();
    let out = std::process::Command::new(&argv[0])
        .args(&argv[1..])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(
        stdout.contains(&format!("pyslim smoke: FAILED only_here ({host}): ")),
        "{stdout}"
    );
}

fn which_python() -> Result<String, ()> {
    for p in ["/usr/bin/python3", "/usr/local/bin/python3"] {
        if std::path::Path::new(p).exists() {
            return Ok(p.to_owned());
        }
    }
    Err(())
}
