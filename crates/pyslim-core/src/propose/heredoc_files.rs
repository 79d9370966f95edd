//! What a builder stage's `COPY <<EOF` / `ADD <<EOF` heredocs write: the proposal runs those
//! steps in its builder, so it must say which files the runtime will not get.

use super::steps::Step;

/// Files the steps' `COPY <<EOF dest` and `ADD <<EOF dest` heredocs write, as absolute
/// paths (a relative destination is under the WORKDIR; a destination ending in `/` gets the
/// heredoc's name, as BuildKit names it). A proposal runs these steps in its builder, so
/// the runtime has these files only if something copies them.
pub fn heredoc_files(steps: &[Step]) -> Vec<String> {
    let mut workdir = String::from("/");
    let mut out = Vec::new();
    for step in steps {
        let first_line = step.args.lines().next().unwrap_or_default();
        match step.keyword.as_str() {
            "WORKDIR" => {
                let dir = first_line.trim();
                workdir = if dir.starts_with('/') {
                    dir.to_owned()
                } else {
                    format!("{}/{dir}", workdir.trim_end_matches('/'))
                };
            }
            "COPY" | "ADD" => {
                let words = super::shell::words(first_line);
                let Some((dest, sources)) = words.split_last() else {
                    continue;
                };
                let names: Vec<&str> = sources
                    .iter()
                    .filter_map(|w| w.strip_prefix("<<"))
                    .map(|w| w.trim_start_matches('-'))
                    .collect();
                if names.is_empty() {
                    continue;
                }
                let dest = if dest.starts_with('/') {
                    dest.clone()
                } else {
                    format!("{}/{dest}", workdir.trim_end_matches('/'))
                };
                if dest.ends_with('/') {
                    out.extend(names.iter().map(|n| format!("{dest}{n}")));
                } else {
                    out.push(dest);
                }
            }
            _ => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dockerfile::Dockerfile;
    use crate::image::Image;
    use crate::propose::steps::from_dockerfile;

    #[test]
    fn heredoc_files_resolve_workdir_and_directory_destinations() {
        let df = Dockerfile::parse("FROM x\nCOPY <<EOF /etc/app.conf\nk=v\nEOF\nWORKDIR /srv\nCOPY <<\"A\" <<-B conf/\na\nA\n\tb\n\tB\nADD <<EOF run.sh\necho\nEOF\nCOPY . /app\nRUN cat <<EOF > /etc/x\nEOF\n");
        let image = Image {
            reference: "app".into(),
            source: crate::image::SourceKind::DockerArchive,
            id: String::new(),
            config: Default::default(),
            history: Vec::new(),
            layers: Vec::new(),
            warnings: Vec::new(),
        };
        let steps = from_dockerfile(&df, &image).steps;
        assert_eq!(
            heredoc_files(&steps),
            vec!["/etc/app.conf", "/srv/conf/A", "/srv/conf/B", "/srv/run.sh"]
        );
    }
}
