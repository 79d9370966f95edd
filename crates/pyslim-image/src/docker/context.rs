//! The build context sent to the engine: the context directory as a tar, less what its
//! `.dockerignore` excludes, plus the Dockerfile to build (from memory, so pyslim writes no
//! file of its own into the user's directory).

use std::path::Path;

use globset::{Glob, GlobBuilder, GlobMatcher};

use pyslim_core::error::{Error, Result};

/// The name the Dockerfile gets inside the context tar.
pub const DOCKERFILE_IN_CONTEXT: &str = ".pyslim.Dockerfile";

/// `.dockerignore` rules: patterns relative to the context, `!` re-includes, the last
/// matching rule wins, and a rule that matches a directory matches everything below it.
#[derive(Debug, Default)]
pub struct DockerIgnore {
    rules: Vec<(GlobMatcher, bool)>,
}

impl DockerIgnore {
    pub fn parse(text: &str) -> DockerIgnore {
        let mut rules = Vec::new();
        for line in text.lines() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let (include, pattern) = match line.strip_prefix('!') {
                Some(p) => (true, p.trim()),
                None => (false, line),
            };
            let pattern = pattern
                .trim_start_matches("./")
                .trim_start_matches('/')
                .trim_end_matches('/');
            if pattern.is_empty() {
                continue;
            }
            let glob: std::result::Result<Glob, _> =
                GlobBuilder::new(pattern).literal_separator(true).build();
            if let Ok(g) = glob {
                rules.push((g.compile_matcher(), include));
            }
        }
        DockerIgnore { rules }
    }

    pub fn has_exceptions(&self) -> bool {
        self.rules.iter().any(|(_, include)| *include)
    }

    /// True when `rel` (a `/`-separated path relative to the context) is left out.
    pub fn excludes(&self, rel: &str) -> bool {
        let mut excluded = false;
        for (glob, include) in &self.rules {
            // The path itself, or any directory above it.
            let mut matched = glob.is_match(rel);
            let mut at = rel;
            while !matched {
                match at.rfind('/') {
                    Some(p) => {
                        at = &at[..p];
                        matched = glob.is_match(at);
                    }
                    None => break,
                }
            }
            if matched {
                excluded = !include;
            }
        }
        excluded
    }
}

/// The context directory as an uncompressed tar, with `dockerfile` added under
/// `DOCKERFILE_IN_CONTEXT`. Symlinks are sent as symlinks, as `docker build` does.
pub fn context_tar(dir: &Path, dockerfile: &str) -> Result<Vec<u8>> {
    if !dir.is_dir() {
        return Err(Error::Usage(format!(
            "{}: the build context is not a directory",
            dir.display()
        )));
    }
    let ignore = match std::fs::read_to_string(dir.join(".dockerignore")) {
        Ok(t) => DockerIgnore::parse(&t),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => DockerIgnore::default(),
        Err(e) => return Err(Error::io(dir.join(".dockerignore"), e)),
    };
    let mut builder = tar::Builder::new(Vec::new());
    builder.follow_symlinks(false);
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let mut entries: Vec<_> = std::fs::read_dir(&d)
            .map_err(|e| Error::io(&d, e))?
            .collect::<std::io::Result<_>>()
            .map_err(|e| Error::io(&d, e))?;
        entries.sort_by_key(|e| e.file_name());
        for entry in entries {
            let path = entry.path();
            let rel = path
                .strip_prefix(dir)
                .map(|r| r.to_string_lossy().replace('\\', "/"))
                .unwrap_or_default();
            let file_type = entry.file_type().map_err(|e| Error::io(&path, e))?;
            let excluded = ignore.excludes(&rel);
            if file_type.is_dir() {
                if !excluded {
                    builder
                        .append_dir(&rel, &path)
                        .map_err(|e| Error::io(&path, e))?;
                }
                // Below an excluded directory, only an exception can bring a path back.
                if !excluded || ignore.has_exceptions() {
                    stack.push(path);
                }
                continue;
            }
            if excluded {
                continue;
            }
            builder
                .append_path_with_name(&path, &rel)
                .map_err(|e| Error::io(&path, e))?;
        }
    }
    let mut header = tar::Header::new_gnu();
    header.set_size(dockerfile.len() as u64);
    header.set_mode(0o644);
    header.set_cksum();
    builder
        .append_data(&mut header, DOCKERFILE_IN_CONTEXT, dockerfile.as_bytes())
        .map_err(|e| Error::io(DOCKERFILE_IN_CONTEXT, e))?;
    builder.into_inner().map_err(|e| Error::io(dir, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dockerignore_rules_match_paths_and_their_parents_last_rule_wins() {
        let ig = DockerIgnore::parse(
            "# comment\n.git\n**/__pycache__\n*.md\n!README.md\n/build/\nsecrets/*.pem\n",
        );
        assert!(ig.excludes(".git"));
        assert!(ig.excludes(".git/objects/ab"));
        assert!(ig.excludes("app/pkg/__pycache__/m.pyc"));
        assert!(ig.excludes("CHANGES.md"));
        assert!(!ig.excludes("README.md"), "the exception wins");
        assert!(
            !ig.excludes("docs/guide.md"),
            "* stays within one component"
        );
        assert!(ig.excludes("build/lib/x.so"));
        assert!(ig.excludes("secrets/id.pem"));
        assert!(!ig.excludes("app/main.py"));
        assert!(ig.has_exceptions());
    }

    #[test]
    fn context_tar_leaves_out_ignored_files_and_carries_the_dockerfile() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("app/__pycache__")).unwrap();
        std::fs::write(dir.path().join("app/main.py"), "print(1)\n").unwrap();
        std::fs::write(dir.path().join("app/__pycache__/main.pyc"), "x").unwrap();
        std::fs::write(dir.path().join(".env"), "TOKEN=1\n").unwrap();
        std::fs::write(dir.path().join(".dockerignore"), ".env\n**/__pycache__\n").unwrap();
        std::os::unix::fs::symlink("app/main.py", dir.path().join("link")).unwrap();
        let bytes = context_tar(dir.path(), "FROM scratch\n").unwrap();
        let mut archive = tar::Archive::new(&bytes[..]);
        let mut names: Vec<(String, bool)> = archive
            .entries()
            .unwrap()
            .map(|e| {
                let e = e.unwrap();
                (
                    e.path()
                        .unwrap()
                        .to_string_lossy()
                        .trim_end_matches('/')
                        .to_owned(),
                    e.header().entry_type().is_symlink(),
                )
            })
            .collect();
        names.sort();
        assert_eq!(
            names,
            vec![
                (".dockerignore".to_owned(), false),
                (DOCKERFILE_IN_CONTEXT.to_owned(), false),
                ("app".to_owned(), false),
                ("app/main.py".to_owned(), false),
                ("link".to_owned(), true),
            ]
        );
        // Nothing was written into the context directory.
        assert!(!dir.path().join(DOCKERFILE_IN_CONTEXT).exists());
    }
}
