//! Requirements before the source: when a `pip install -r FILE` runs after a COPY of the
//! whole source, the proposal copies FILE alone first and installs right after it, so the
//! install layer stays cached until the requirements change, not at every code change.

use super::shell;
use super::steps::Step;

/// The steps, reordered when it is safe; with the note to say why when they were.
pub fn requirements_first(steps: &[Step]) -> (Vec<Step>, bool) {
    let mut cwd = "/".to_owned();
    let mut cwd_at = Vec::with_capacity(steps.len());
    for s in steps {
        if s.keyword == "WORKDIR" {
            cwd = absolute(&cwd, s.args.trim());
        }
        cwd_at.push(cwd.clone());
    }
    for (i, run) in steps.iter().enumerate() {
        if run.keyword != "RUN" {
            continue;
        }
        let Some(req) = only_requirements_install(&run.args) else {
            continue;
        };
        let req = absolute(&cwd_at[i], &req);
        // The latest plain COPY before it that brought the requirements file with the rest.
        let Some(j) = (0..i).rev().find(|&j| {
            let c = &steps[j];
            c.keyword == "COPY"
                && c.flags.iter().all(|f| !f.starts_with("--from"))
                && broad_copy_dest(c, &cwd_at[j]).is_some_and(|d| req.starts_with(&format!("{d}/")))
        }) else {
            continue;
        };
        // Moving the install above steps that run commands could break them (or it).
        if steps[j + 1..i].iter().any(|s| s.keyword == "RUN") {
            continue;
        }
        // The install must run where and with what the user wrote: the WORKDIR, ENV, ARG,
        // USER and SHELL between the COPY and it move up with it, when that changes nothing
        // for the steps they then precede.
        let (context, others): (Vec<&Step>, Vec<&Step>) = steps[j + 1..i]
            .iter()
            .partition(|s| SETS_CONTEXT.contains(&s.keyword.as_str()));
        if !context.is_empty()
            && !others
                .iter()
                .chain([&&steps[j]])
                .all(|s| unaffected(s, &context))
        {
            continue;
        }
        let copy = &steps[j];
        let words = shell::words(&copy.args);
        let dest = broad_copy_dest(copy, &cwd_at[j]).unwrap_or_default();
        let src_dir = words[0].trim_end_matches('/').trim_start_matches("./");
        let rel = &req[dest.len() + 1..];
        let src = if src_dir.is_empty() || src_dir == "." {
            rel.to_owned()
        } else {
            format!("{src_dir}/{rel}")
        };
        let copy_req = Step {
            keyword: "COPY".into(),
            flags: copy.flags.clone(),
            args: format!("{src} {req}"),
            text: format!(
                "COPY {}{src} {req}",
                copy.flags
                    .iter()
                    .map(|f| format!("{f} "))
                    .collect::<String>()
            ),
            comments: vec![
                "requirements first: the install below stays cached until they change".into(),
            ],
        };
        let mut out = steps[..j].to_vec();
        out.extend(context.into_iter().cloned());
        out.push(copy_req);
        out.push(run.clone());
        out.push(copy.clone());
        out.extend(others.into_iter().cloned());
        out.extend(steps[i + 1..].iter().cloned());
        return (out, true);
    }
    (steps.to_vec(), false)
}

/// Instructions that set what a later RUN sees (its directory, environment, user, shell).
const SETS_CONTEXT: &[&str] = &["WORKDIR", "ENV", "ARG", "USER", "SHELL"];

/// True when `step` means the same after the `context` steps as before them: no relative
/// path if a WORKDIR moves above it, no variable if an ENV or ARG does.
fn unaffected(step: &Step, context: &[&Step]) -> bool {
    let moves_workdir = context.iter().any(|c| c.keyword == "WORKDIR");
    let moves_vars = context
        .iter()
        .any(|c| c.keyword == "ENV" || c.keyword == "ARG");
    if moves_vars && (step.args.contains('$') || step.flags.iter().any(|f| f.contains('$'))) {
        return false;
    }
    if !moves_workdir {
        return true;
    }
    match step.keyword.as_str() {
        // Sources are relative to the context either way; the destination is what moves.
        "COPY" | "ADD" => shell::words(&step.args)
            .last()
            .is_some_and(|d| d.starts_with('/')),
        "WORKDIR" | "RUN" | "CMD" | "ENTRYPOINT" | "VOLUME" => false,
        _ => true,
    }
}

/// For a RUN that is one `pip install` of requirement files and flags only, the (single)
/// file it reads.
fn only_requirements_install(run: &str) -> Option<String> {
    let cmds = shell::commands(run);
    let [cmd] = cmds.as_slice() else { return None };
    let install = cmd.iter().position(|w| w == "install")?;
    let is_pip = cmd[..install]
        .iter()
        .any(|w| w.rsplit('/').next().is_some_and(|b| b.starts_with("pip")));
    if !is_pip {
        return None;
    }
    let mut file = None;
    let mut args = cmd[install + 1..].iter();
    while let Some(w) = args.next() {
        if w == "-r" || w == "--requirement" {
            if file.is_some() {
                return None;
            }
            file = Some(args.next()?.clone());
        } else if let Some(f) = w.strip_prefix("--requirement=") {
            file = Some(f.to_owned());
        } else if !w.starts_with('-') || w == "-e" || w.starts_with("--editable") {
            // A package, a path or an editable install: it needs more than the requirements.
            return None;
        }
    }
    file
}

/// Where a COPY of a whole directory (`.`, `src/`) lands, absolute, without a trailing `/`.
fn broad_copy_dest(copy: &Step, cwd: &str) -> Option<String> {
    let words = shell::words(&copy.args);
    let [src, dest] = words.as_slice() else {
        return None;
    };
    let looks_like_dir = src == "." || src == "./" || src.ends_with('/');
    looks_like_dir.then(|| absolute(cwd, dest).trim_end_matches('/').to_owned())
}

/// `p` against the working directory, with `.` and `..` resolved (no trailing `/`).
pub(crate) fn absolute(cwd: &str, p: &str) -> String {
    let joined = if p.starts_with('/') {
        p.to_owned()
    } else {
        format!("{cwd}/{p}")
    };
    let mut parts: Vec<&str> = Vec::new();
    for c in joined.split('/') {
        match c {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            c => parts.push(c),
        }
    }
    format!("/{}", parts.join("/"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn step(line: &str) -> Step {
        let df = crate::dockerfile::Dockerfile::parse(&format!("FROM x\n{line}\n"));
        let i = &df.instructions[1];
        Step {
            keyword: i.keyword.clone(),
            flags: i.flags.clone(),
            args: i.args.clone(),
            text: line.to_owned(),
            comments: Vec::new(),
        }
    }

    fn texts(steps: &[Step]) -> Vec<&str> {
        steps.iter().map(|s| s.text.as_str()).collect()
    }

    #[test]
    fn the_requirements_are_copied_and_installed_before_the_source() {
        let steps: Vec<Step> = [
            "WORKDIR /app",
            "COPY . .",
            "ENV X=1",
            "RUN pip install --no-cache-dir -r requirements.txt",
            "CMD [\"python\", \"app.py\"]",
        ]
        .map(step)
        .to_vec();
        let (out, moved) = requirements_first(&steps);
        assert!(moved);
        assert_eq!(
            texts(&out),
            vec![
                "WORKDIR /app",
                "ENV X=1",
                "COPY requirements.txt /app/requirements.txt",
                "RUN pip install --no-cache-dir -r requirements.txt",
                "COPY . .",
                "CMD [\"python\", \"app.py\"]",
            ]
        );
    }

    #[test]
    fn a_source_directory_keeps_its_prefix() {
        let steps: Vec<Step> = [
            "COPY --chown=app src/ /srv/",
            "RUN python -m pip install -r /srv/req/base.txt",
        ]
        .map(step)
        .to_vec();
        let (out, moved) = requirements_first(&steps);
        assert!(moved);
        assert_eq!(
            out[0].text,
            "COPY --chown=app src/req/base.txt /srv/req/base.txt"
        );
    }

    #[test]
    fn the_workdir_and_env_the_install_runs_with_move_up_with_it() {
        let steps: Vec<Step> = [
            "COPY . /app",
            "WORKDIR /app",
            "ENV PIP_INDEX_URL=http://mirror/simple",
            "RUN pip install -r requirements.txt",
            "CMD [\"python\", \"app.py\"]",
        ]
        .map(step)
        .to_vec();
        let (out, moved) = requirements_first(&steps);
        assert!(moved);
        assert_eq!(
            texts(&out),
            vec![
                "WORKDIR /app",
                "ENV PIP_INDEX_URL=http://mirror/simple",
                "COPY requirements.txt /app/requirements.txt",
                "RUN pip install -r requirements.txt",
                "COPY . /app",
                "CMD [\"python\", \"app.py\"]",
            ]
        );
    }

    #[test]
    fn installs_that_need_the_source_or_follow_other_commands_stay() {
        for lines in [
            vec![
                "COPY . /app",
                "RUN pip install -r /app/requirements.txt && pip install -e /app",
            ],
            vec!["COPY . /app", "RUN pip install /app"],
            vec![
                "COPY . /app",
                "RUN make assets",
                "RUN pip install -r /app/requirements.txt",
            ],
            vec![
                "COPY requirements.txt /app/",
                "RUN pip install -r /app/requirements.txt",
            ],
            // The COPY's relative destination would change under the moved WORKDIR.
            vec![
                "WORKDIR /srv",
                "COPY . app",
                "WORKDIR /srv/app",
                "RUN pip install -r requirements.txt",
            ],
            // The ENV would change what the COPY means.
            vec![
                "COPY --chown=$OWNER . /app",
                "ENV OWNER=app",
                "RUN pip install -r /app/requirements.txt",
            ],
        ] {
            let steps: Vec<Step> = lines.iter().map(|l| step(l)).collect();
            let (out, moved) = requirements_first(&steps);
            assert!(!moved, "{lines:?}");
            assert_eq!(texts(&out), lines);
        }
    }
}
