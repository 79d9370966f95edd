//! What the image's entrypoint and command run, as paths a trim must keep: the program,
//! the commands inside a shell's `-c` string, a script named relative to WORKDIR, the files
//! of a module run with `python -m`, and paths the arguments name. Wrappers that run their
//! arguments (`tini --`, an entrypoint script that ends in `exec "$@"`) are looked through.

use crate::image::ImageConfig;
use crate::propose::shell;
use crate::tree::Tree;

/// One path the command needs, and how the message should name the need.
#[derive(Debug, Clone, PartialEq)]
pub struct Needed {
    /// The image path (no leading slash).
    pub path: String,
    /// `names /app/main.py`, `runs module flask (python -m flask)`.
    pub why: String,
}

const SHELLS: &[&str] = &["sh", "bash", "dash", "ash", "zsh"];
const DEFAULT_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
/// Python options that take a value (`-W ignore`, `-X dev`).
const PY_VALUE_OPTS: &[&str] = &["-W", "-X", "--check-hash-based-pycs"];

struct Ctx<'a> {
    tree: &'a Tree,
    path_var: &'a str,
    workdir: &'a str,
    /// Directories `python -m` looks in: WORKDIR, site-packages, the standard libraries.
    module_roots: &'a [String],
}

impl Ctx<'_> {
    fn exists(&self, path: &str) -> bool {
        self.tree
            .resolve(path)
            .is_some_and(|n| self.tree.is_visible(n))
    }

    /// An argument as an image path: absolute as given, relative against WORKDIR.
    fn in_workdir(&self, a: &str) -> String {
        let a = a.strip_prefix("./").unwrap_or(a);
        if a.starts_with('/') || self.workdir.is_empty() {
            a.trim_start_matches('/').to_owned()
        } else {
            format!("{}/{a}", self.workdir)
        }
    }

    /// The program: a path as given, else the first PATH directory that has it.
    fn program(&self, name: &str) -> Option<String> {
        if name.contains('/') {
            return Some(self.in_workdir(name));
        }
        self.path_var
            .split(':')
            .map(|d| format!("{}/{name}", d.trim_matches('/')))
            .map(|p| p.trim_start_matches('/').to_owned())
            .find(|p| self.exists(p))
    }

    /// The files `python -m a.b` loads: each package's `__init__.py` on the way and the
    /// module itself (`a/b.py`, or `a/b/__main__.py`), from the first root that has `a`.
    fn module_files(&self, module: &str) -> Vec<String> {
        let parts: Vec<&str> = module.split('.').collect();
        for root in self.module_roots {
            let base = |rel: &str| {
                if root.is_empty() {
                    rel.to_owned()
                } else {
                    format!("{root}/{rel}")
                }
            };
            let top = base(parts[0]);
            if !self.exists(&top) && !self.exists(&format!("{top}.py")) {
                continue;
            }
            let mut files = Vec::new();
            for i in 1..=parts.len() {
                let dir = base(&parts[..i].join("/"));
                let init = format!("{dir}/__init__.py");
                if self.exists(&init) {
                    files.push(init);
                }
            }
            let whole = base(&parts.join("/"));
            for f in [format!("{whole}.py"), format!("{whole}/__main__.py")] {
                if self.exists(&f) {
                    files.push(f);
                }
            }
            return files;
        }
        Vec::new()
    }

    fn command(&self, argv: &[String], depth: u32, out: &mut Vec<Needed>) {
        // `exec` and leading `VAR=value` assignments do not name the program.
        let argv: Vec<&str> = argv
            .iter()
            .map(String::as_str)
            .skip_while(|w| *w == "exec" || (w.contains('=') && !w.starts_with('-')))
            .collect();
        let Some((&first, args)) = argv.split_first() else {
            return;
        };
        if depth > 4 {
            return;
        }
        let program = self.program(first);
        if let Some(p) = &program {
            out.push(Needed {
                path: p.clone(),
                why: format!("names /{p}"),
            });
        }
        let base = first.rsplit('/').next().unwrap_or(first);
        if SHELLS.contains(&base) {
            // `sh -c STRING`, `sh -ec STRING`: each simple command of STRING.
            let c = args
                .iter()
                .position(|a| a.starts_with('-') && !a.starts_with("--") && a.contains('c'));
            if let Some(script) = c.and_then(|i| args.get(i + 1)) {
                for cmd in shell::commands(script) {
                    self.command(&cmd, depth + 1, out);
                }
            } else if let Some(script) = args.iter().find(|a| !a.starts_with('-')) {
                self.named(script, out);
            }
            return;
        }
        if base.starts_with("python") {
            self.python(args, out);
            return;
        }
        // A wrapper that runs its arguments: `tini -- python app.py`, an entrypoint script
        // given CMD as "$@".
        let rest: Vec<String> = args
            .iter()
            .skip_while(|a| a.starts_with('-'))
            .map(|a| a.to_string())
            .collect();
        if let Some(next) = rest.first() {
            if !next.contains('/') && self.program(next).is_some() {
                self.command(&rest, depth + 1, out);
                return;
            }
        }
        for a in args {
            self.named(a, out);
        }
    }

    fn python(&self, args: &[&str], out: &mut Vec<Needed>) {
        let mut i = 0;
        while let Some(&a) = args.get(i) {
            match a {
                "-c" => return,
                "-m" => {
                    if let Some(module) = args.get(i + 1) {
                        let files = self.module_files(module);
                        out.extend(files.into_iter().map(|path| Needed {
                            path,
                            why: format!("runs module {module} (python -m {module})"),
                        }));
                    }
                    return;
                }
                _ if PY_VALUE_OPTS.contains(&a) => i += 2,
                _ if a.starts_with('-') => i += 1,
                script => {
                    let path = self.in_workdir(script);
                    out.push(Needed {
                        why: format!("names /{path}"),
                        path,
                    });
                    return;
                }
            }
        }
    }

    /// An argument that names a file: an absolute path, or a relative one that exists
    /// under WORKDIR (`main.py`, `conf/app.toml`).
    fn named(&self, a: &str, out: &mut Vec<Needed>) {
        if a.starts_with('-') || a.contains("://") {
            return;
        }
        let abs = a.starts_with('/');
        let path = self.in_workdir(a);
        if abs || self.exists(&path) {
            out.push(Needed {
                why: format!("names /{path}"),
                path,
            });
        }
    }
}

/// The paths the entrypoint and command need. `module_roots` are where `python -m` looks,
/// without WORKDIR (added first here).
pub fn needed(config: &ImageConfig, tree: &Tree, module_roots: &[String]) -> Vec<Needed> {
    let args: Vec<String> = config
        .entrypoint
        .iter()
        .chain(&config.cmd)
        .cloned()
        .collect();
    let path_var = config
        .env
        .iter()
        .find_map(|e| e.strip_prefix("PATH="))
        .unwrap_or(DEFAULT_PATH);
    let workdir = config.workdir.trim_matches('/');
    let mut roots = vec![workdir.to_owned()];
    roots.extend(module_roots.iter().cloned());
    let ctx = Ctx {
        tree,
        path_var,
        workdir,
        module_roots: &roots,
    };
    let mut out = Vec::new();
    ctx.command(&args, 0, &mut out);
    let mut seen = std::collections::HashSet::new();
    out.retain(|n| seen.insert(n.path.clone()));
    out
}
