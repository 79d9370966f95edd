//! OS packages for the proposal: which of those the build installed are only for building,
//! which libraries the runtime still needs (libpq-dev stands for libpq5), and their Alpine
//! names.

use std::collections::BTreeSet;

use super::bases::{Bases, Target};
use super::plan::RenderedStep;
use super::shell;
use crate::findings::paths::glob_set;
use crate::findings::RuleSet;
use crate::inventory::Inventory;
use crate::tree::Tree;

/// OS packages only a build needs: the compilers and dev-packages rules' globs, plus the
/// table's list of build tools.
pub(crate) fn build_only_packages(rules: &RuleSet, bases: &Bases) -> globset::GlobSet {
    let mut patterns: Vec<String> = rules
        .rules
        .iter()
        .filter(|r| r.id == "compilers" || r.id == "dev-packages")
        .flat_map(|r| r.packages.iter().cloned())
        .collect();
    patterns.extend(bases.build_only.iter().cloned());
    glob_set(patterns.iter())
}

/// The runtime's OS packages: what the build installed minus build-only packages, plus the
/// libraries each -dev package depends on (libpq-dev → libpq5).
pub(crate) fn runtime_packages(
    installed: &[String],
    build_only: &globset::GlobSet,
    inv: &Inventory,
    bases: &Bases,
    target: Target,
    in_base: &dyn Fn(&str) -> bool,
) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut push = |n: &str| {
        if !out.iter().any(|o| o == n) {
            out.push(n.to_owned());
        }
    };
    for name in installed {
        if !build_only.is_match(name.as_str()) {
            push(name);
            continue;
        }
        // A library's -dev package (libpq-dev) stands for the library (libpq5) that what was
        // built against it links at run time. Toolchains (build-essential, python3-dev) do not.
        if !is_library_dev(name) {
            continue;
        }
        let mut stack = vec![name.clone()];
        let mut seen = BTreeSet::new();
        while let Some(n) = stack.pop() {
            if !seen.insert(n.clone()) {
                continue;
            }
            let Some(pkg) = inv.os_packages.iter().find(|p| p.name == n) else {
                continue;
            };
            for d in &pkg.depends {
                if is_library_dev(d) {
                    stack.push(d.clone());
                } else if is_runtime_library(d) && !build_only.is_match(d.as_str()) && !in_base(d) {
                    push(d);
                }
            }
        }
    }
    if target == Target::Alpine {
        return out
            .into_iter()
            .map(|n| bases.apk_names.get(&n).cloned().unwrap_or(n))
            .collect();
    }
    out
}

/// Packages every runtime base provides itself (its Python): never installed there.
pub(crate) fn base_provided_packages(bases: &Bases) -> globset::GlobSet {
    glob_set(bases.base_provides.iter())
}

/// `packages` with what they depend on that the build installed too (not the base's, not
/// build-only, not what the runtime base provides): what the runtime will hold of them.
pub(crate) fn runtime_closure(
    packages: &[String],
    inv: &Inventory,
    build_only: &globset::GlobSet,
    provided: &globset::GlobSet,
    in_base: &dyn Fn(&str) -> bool,
) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut stack: Vec<String> = packages.iter().rev().cloned().collect();
    while let Some(n) = stack.pop() {
        if out.contains(&n) {
            continue;
        }
        let Some(pkg) = inv.os_packages.iter().find(|p| p.name == n) else {
            // Not in the image: the runtime's package manager resolves it; nothing to count.
            out.push(n);
            continue;
        };
        out.push(n);
        for d in pkg.depends.iter().rev() {
            let wanted = is_runtime_library(d) || !d.starts_with("lib");
            if wanted
                && !in_base(d)
                && !build_only.is_match(d.as_str())
                && !provided.is_match(d.as_str())
                && inv.os_packages.iter().any(|p| &p.name == d)
            {
                stack.push(d.clone());
            }
        }
    }
    out
}

/// `libpq-dev`, `libssl-dev`: the development files of one library.
fn is_library_dev(name: &str) -> bool {
    name.starts_with("lib") && name.ends_with("-dev") && !name.starts_with("libc6")
}

/// The layer that installed an OS package, by its dpkg file list (or None).
pub(crate) fn os_package_layer(tree: &Tree, name: &str) -> Option<usize> {
    [
        format!("var/lib/dpkg/info/{name}.list"),
        format!("var/lib/dpkg/info/{name}:amd64.list"),
        format!("var/lib/dpkg/info/{name}:arm64.list"),
    ]
    .iter()
    .filter_map(|p| tree.lookup(p))
    .filter_map(|n| tree.node(n).events.first())
    .map(|e| e.layer as usize)
    .min()
}

/// Libraries worth installing in a runtime: `lib*` packages other than the C and compiler
/// runtimes every base already has.
fn is_runtime_library(name: &str) -> bool {
    const EVERY_BASE_HAS: &[&str] = &["libc6", "libgcc-s1", "libstdc++6", "libcrypt1", "libc-bin"];
    name.starts_with("lib")
        && !name.starts_with("libpython")
        && !EVERY_BASE_HAS.contains(&name)
        && !name.starts_with("libgcc")
        && !name.starts_with("libc-dev")
}

/// The builder step for a RUN that uses apt-get, on Alpine: only the apt-get commands are
/// rewritten (the install becomes `apk add`, `apt-get update`/`clean` and the removal of
/// apt lists go), and every other command of the RUN stays, in order, with its operator.
/// When apt-get runs inside another command (`then apt-get …`, `sudo`, `xargs`, a subshell),
/// dropping or replacing it would break that command: the RUN becomes the `apk add` alone.
pub(crate) fn alpine_rewrite(
    flags: &[String],
    args: &str,
    bases: &Bases,
    build_only: &globset::GlobSet,
) -> RenderedStep {
    let packages = shell::installed_packages(args);
    let (apk, mut comments) = apk_add(&packages, bases, build_only);
    // A heredoc's body is a script of its own: rewriting it line by line is not safe.
    if args.contains('\n') {
        comments.push(
            "this RUN is a heredoc: only its apt-get part is rewritten here; carry its other commands over by hand"
                .into(),
        );
        return whole_run(flags, &apk, comments);
    }
    let spans = shell::command_spans(args);
    let kinds: Vec<AptCommand> = spans.iter().map(|(_, cmd)| apt_command(cmd)).collect();
    let nested = spans
        .iter()
        .zip(&kinds)
        .find(|(_, k)| matches!(k, AptCommand::Nested))
        .map(|((_, cmd), _)| cmd.as_str());
    if let Some(cmd) = nested {
        comments.push(format!(
            "apt-get runs inside `{}` here, which cannot be rewritten in place: this RUN is only the apk add; carry its other commands over by hand",
            crate::format::one_line(cmd)
        ));
        return whole_run(flags, &apk, comments);
    }
    if !kinds.iter().any(|k| matches!(k, AptCommand::Install)) {
        // installed_packages saw an install no command here is: keep the build installing.
        comments.push(
            "no command of this RUN could be rewritten in place: it is only the apk add; carry its other commands over by hand"
                .into(),
        );
        return whole_run(flags, &apk, comments);
    }
    let mut kept: Vec<(String, String)> = Vec::new();
    let mut apk_done = false;
    for ((sep, cmd), kind) in spans.into_iter().zip(kinds) {
        let replacement = match kind {
            AptCommand::Not => Some(cmd),
            AptCommand::Install if !apk_done => {
                apk_done = true;
                Some(apk.clone())
            }
            AptCommand::Install | AptCommand::Housekeeping | AptCommand::Nested => None,
        };
        if let Some(text) = replacement {
            // The operator before a dropped command goes with it; the first kept has none.
            let sep = if kept.is_empty() { String::new() } else { sep };
            kept.push((sep, text));
        }
    }
    let mut text = run_prefix(flags);
    for (n, (sep, cmd)) in kept.iter().enumerate() {
        if n > 0 {
            text.push_str(" \\\n    ");
            text.push_str(if sep.is_empty() { "&&" } else { sep });
            text.push(' ');
        }
        text.push_str(cmd);
    }
    RenderedStep { text, comments }
}

/// `RUN ` and the step's flags, each followed by a space.
fn run_prefix(flags: &[String]) -> String {
    let mut text = String::from("RUN ");
    for f in flags {
        text.push_str(f);
        text.push(' ');
    }
    text
}

/// The RUN replaced whole by `apk`, its flags kept.
fn whole_run(flags: &[String], apk: &str, comments: Vec<String>) -> RenderedStep {
    RenderedStep {
        text: format!("{}{apk}", run_prefix(flags)),
        comments,
    }
}

enum AptCommand {
    /// Not apt's: kept as written.
    Not,
    /// `apt-get install …`: becomes `apk add`.
    Install,
    /// `apt-get update`, `apt-get clean`, `rm -rf /var/lib/apt/lists/*`: no use on Alpine.
    Housekeeping,
    /// apt-get run by another command (`then apt-get …`, `sudo apt-get`, `xargs apt-get`,
    /// `(apt-get …`): neither dropping nor replacing this command keeps the shell valid.
    Nested,
}

fn apt_command(cmd: &str) -> AptCommand {
    let words = shell::words(cmd);
    // Found where installed_packages finds it, so every install it counts is handled here.
    if let Some((tool, name)) = shell::package_tool(&words) {
        if name != "apk" {
            // Only `VAR=value` prefixes (`DEBIAN_FRONTEND=noninteractive apt-get …`) may
            // come first for the command to be apt-get's own.
            let own = words[..tool].iter().all(|w| is_assignment(w))
                && !words[tool].starts_with(['(', '{']);
            return match (own, words.iter().any(|w| w == "install")) {
                (false, _) => AptCommand::Nested,
                (true, true) => AptCommand::Install,
                (true, false) => AptCommand::Housekeeping,
            };
        }
    }
    let apt_state = words
        .iter()
        .skip(1)
        .filter(|w| !w.starts_with('-'))
        .all(|w| w.starts_with("/var/lib/apt") || w.starts_with("/var/cache/apt"));
    // Skip `VAR=value` prefixes, as for apt-get.
    let first = words.iter().find(|w| !is_assignment(w));
    let is_rm = first.is_some_and(|w| w.rsplit('/').next() == Some("rm"));
    if is_rm && words.len() > 1 && apt_state {
        return AptCommand::Housekeeping;
    }
    AptCommand::Not
}

/// `VAR=value` before a command's name (a flag such as `--opt=x` is not one).
fn is_assignment(w: &str) -> bool {
    w.contains('=') && !w.starts_with('-')
}

/// `apk add --no-cache …` for Debian package names, with comments on what it could not map.
fn apk_add(
    packages: &[String],
    bases: &Bases,
    build_only: &globset::GlobSet,
) -> (String, Vec<String>) {
    let mut names = vec!["build-base".to_owned()];
    let mut unknown = Vec::new();
    for p in packages {
        match bases.apk_names.get(p) {
            Some(a) if !names.contains(a) => names.push(a.clone()),
            Some(_) => {}
            None if build_only.is_match(p.as_str()) => {}
            None => unknown.push(p.clone()),
        }
    }
    let mut comments = vec![
        "apt-get has no Alpine counterpart: the same packages by their Alpine names".to_owned(),
    ];
    if !unknown.is_empty() {
        comments.push(format!(
            "no Alpine name known for: {} (add them)",
            unknown.join(", ")
        ));
    }
    (format!("apk add --no-cache {}", names.join(" ")), comments)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rewrite(args: &str) -> RenderedStep {
        let bases = Bases::load(None).unwrap();
        let rules = crate::findings::RuleSet::builtin().unwrap();
        alpine_rewrite(&[], args, &bases, &build_only_packages(&rules, &bases))
    }

    #[test]
    fn alpine_rewrites_only_the_apt_commands_of_a_run() {
        let step = rewrite(
            "apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y gcc libpq-dev && pip install -r requirements.txt; rm -rf /var/lib/apt/lists/* && python -m compileall -q 'a && b'",
        );
        assert_eq!(
            step.text,
            "RUN apk add --no-cache build-base gcc postgresql-dev \\\n    && pip install -r requirements.txt \\\n    && python -m compileall -q 'a && b'"
        );
        // A RUN of apt-get alone stays one apk add.
        assert_eq!(
            rewrite("apt-get update && apt-get install -y gcc && rm -rf /var/lib/apt/lists/*").text,
            "RUN apk add --no-cache build-base gcc"
        );
        // Commands before the install keep their place and operators.
        assert_eq!(
            rewrite("set -eux; apt-get install -y gcc || true").text,
            "RUN set -eux \\\n    ; apk add --no-cache build-base gcc \\\n    || true"
        );
    }

    #[test]
    fn apt_get_inside_another_command_still_becomes_the_apk_add() {
        let whole = "RUN apk add --no-cache build-base gcc";
        for run in [
            "if [ -f x ]; then apt-get install -y gcc; fi",
            "apt-get update && if [ -f x ]; then apt-get install -y gcc; fi",
            "sudo apt-get install -y gcc",
            "xargs -a list.txt apt-get install -y gcc",
            "(apt-get update && apt-get install -y gcc)",
        ] {
            let step = rewrite(run);
            assert_eq!(step.text, whole, "{run}");
            assert!(
                step.comments
                    .iter()
                    .any(|c| c.contains("carry its other commands over by hand")),
                "{run}: {:?}",
                step.comments
            );
        }
        // The comment names the command it could not rewrite.
        let step = rewrite("set -e; if [ -f x ]; then apt-get install -y gcc; fi");
        assert!(
            step.comments
                .iter()
                .any(|c| c.contains("inside `then apt-get install -y gcc`")),
            "{:?}",
            step.comments
        );
        // The RUN's flags stay, as on the in-place path.
        let bases = Bases::load(None).unwrap();
        let rules = crate::findings::RuleSet::builtin().unwrap();
        let step = alpine_rewrite(
            &["--network=host".into()],
            "sudo apt-get install -y gcc",
            &bases,
            &build_only_packages(&rules, &bases),
        );
        assert_eq!(
            step.text,
            "RUN --network=host apk add --no-cache build-base gcc"
        );
        // apt-get's own commands, with a path or after assignments, are still rewritten in
        // place, and so is rm of apt's lists by its path.
        assert_eq!(
            rewrite("/usr/bin/apt-get update && A=1 apt-get install -y gcc && /bin/rm -rf /var/lib/apt/lists/* && make").text,
            "RUN apk add --no-cache build-base gcc \\\n    && make"
        );
    }
}
