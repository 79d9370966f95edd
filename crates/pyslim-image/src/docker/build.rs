//! Building a Dockerfile through the engine API (no docker CLI), and reading back what each
//! layer of the result weighs.

use std::collections::HashMap;
use std::path::Path;

use futures_util::StreamExt;

use super::build_log;
use super::context::{context_tar, DOCKERFILE_IN_CONTEXT};
use super::Client;
use pyslim_core::error::{Error, Result};

pub struct BuildRequest<'a> {
    pub context: &'a Path,
    pub dockerfile: &'a str,
    pub tag: &'a str,
    /// `NAME=value` pairs.
    pub build_args: &'a [String],
    /// Network mode for RUN steps (`host`, `none`, …).
    pub network: Option<&'a str>,
}

#[derive(Debug, Clone)]
pub struct Built {
    pub image_id: String,
    /// The last lines the build printed.
    pub log_tail: String,
}

/// One history entry of an image, newest first as the engine lists them.
#[derive(Debug, Clone, PartialEq)]
pub struct HistoryLayer {
    pub created_by: String,
    pub size: u64,
}

/// Lines of build output kept for an error message.
const LOG_TAIL_LINES: usize = 30;

/// Builds with the classic builder (one layer per RUN/COPY, as the estimate assumes).
/// `made` gets the ID of every step image the build names, as it names them, but no FROM's
/// base, so that the caller can clean up after a failed build too (with `removable`).
pub fn build(client: &Client, req: &BuildRequest, made: &mut Vec<String>) -> Result<Built> {
    let mut args = HashMap::new();
    for a in req.build_args {
        let (k, v) = a
            .split_once('=')
            .ok_or_else(|| Error::Usage(format!("--build-arg {a}: expected NAME=value")))?;
        args.insert(k.to_owned(), v.to_owned());
    }
    let body = context_tar(req.context, req.dockerfile)?;
    let options = bollard::query_parameters::BuildImageOptions {
        dockerfile: DOCKERFILE_IN_CONTEXT.to_owned(),
        t: Some(req.tag.to_owned()),
        rm: true,
        forcerm: true,
        buildargs: Some(args),
        networkmode: req.network.map(str::to_owned),
        ..Default::default()
    };
    let docker = client.docker();
    client.block_on(async {
        let mut stream = docker.build_image(options, None, Some(bollard::body_full(body.into())));
        let mut log: Vec<String> = Vec::new();
        let mut image_id = String::new();
        let mut log_state = build_log::LogState::default();
        while let Some(item) = stream.next().await {
            let info = match item {
                Ok(info) => info,
                Err(bollard::errors::Error::DockerStreamError { error }) => {
                    return Err(build_failed(req.tag, &error, &log));
                }
                Err(e) => {
                    let described = crate::docker::connection::describe(&e, req.tag);
                    return Err(build_failed(req.tag, &described.to_string(), &log));
                }
            };
            if let Some(detail) = info.error_detail.as_ref().and_then(|d| d.message.clone()) {
                return Err(build_failed(req.tag, &detail, &log));
            }
            if let Some(text) = info.stream.as_deref() {
                for line in text.lines().filter(|l| !l.trim().is_empty()) {
                    if let Some(id) = build_log::read_line(line, &mut log_state, made) {
                        image_id = id.to_owned();
                    }
                    log.push(line.to_owned());
                    if log.len() > LOG_TAIL_LINES {
                        log.remove(0);
                    }
                }
            }
            if let Some(id) = info.aux.as_ref().and_then(|a| a.id.clone()) {
                image_id = id;
            }
        }
        if image_id.is_empty() {
            return Err(build_failed(
                req.tag,
                "the engine finished without naming an image",
                &log,
            ));
        }
        Ok(Built {
            image_id,
            log_tail: log.join("\n"),
        })
    })
}

fn build_failed(tag: &str, why: &str, log: &[String]) -> Error {
    let last = log
        .iter()
        .rev()
        .find(|l| l.starts_with("Step "))
        .map(|s| format!(" at {}", pyslim_core::format::one_line(s)))
        .unwrap_or_default();
    Error::Daemon(format!(
        "building {tag} failed{last}: {}",
        pyslim_core::format::one_line(why)
    ))
}

/// The image's history with each entry's size, newest first.
pub fn history(client: &Client, reference: &str) -> Result<Vec<HistoryLayer>> {
    let docker = client.docker();
    client.block_on(async {
        let h = docker
            .image_history(reference)
            .await
            .map_err(|e| crate::docker::connection::describe(&e, reference))?;
        Ok(h.into_iter()
            .map(|e| HistoryLayer {
                created_by: e.created_by,
                size: e.size.max(0) as u64,
            })
            .collect())
    })
}

/// Of the step images a build named (`made`, oldest first), those to remove, newest first:
/// only images that did not exist before the build (`before`, full `sha256:` IDs), never
/// `keep` (the built image, with --keep). A FROM's base, a cached step and the user's own
/// images are all in `before`.
pub fn removable(
    made: &[String],
    before: &std::collections::HashSet<String>,
    keep: Option<&str>,
) -> Vec<String> {
    made.iter()
        .rev()
        .filter(|m| !existed(before, m))
        .filter(|m| !keep.is_some_and(|k| same_image(k, m)))
        .cloned()
        .collect()
}

/// True when the image `id` (short or full) is one of `before`.
pub fn existed(before: &std::collections::HashSet<String>, id: &str) -> bool {
    before.iter().any(|b| same_image(b, id))
}

/// Two image IDs name the same image: one is a prefix of the other (short IDs), sha256: aside.
fn same_image(a: &str, b: &str) -> bool {
    let a = a.strip_prefix("sha256:").unwrap_or(a);
    let b = b.strip_prefix("sha256:").unwrap_or(b);
    !a.is_empty() && !b.is_empty() && (a.starts_with(b) || b.starts_with(a))
}

/// True when `tags` (an image's repo tags) hold one that is not `own`, the build's tag:
/// the image is then someone's (a base pulled for the build, or tagged since), not a step.
pub fn tagged_by_others(tags: &[String], own: &str) -> bool {
    let own = full_tag(own);
    tags.iter()
        .filter(|t| t.as_str() != "<none>:<none>")
        .any(|t| full_tag(t) != own)
}

/// `name` as the engine lists it in repo tags: `:latest` when no tag is given, without the
/// default registry's `docker.io/` and `library/`.
fn full_tag(name: &str) -> String {
    let name = name.strip_prefix("docker.io/").unwrap_or(name);
    let name = name.strip_prefix("library/").unwrap_or(name);
    let last = name.rsplit('/').next().unwrap_or(name);
    if last.contains(':') || last.contains('@') {
        name.to_owned()
    } else {
        format!("{name}:latest")
    }
}

/// Removes a step image the build made (`remove_made`), unless the engine says it carries a
/// tag other than the build's `tag`: whatever the build output said, such an image is not
/// pyslim's to delete. True when it was removed.
pub fn remove_step_image(client: &Client, id: &str, tag: &str) -> Result<bool> {
    match client.image(id)? {
        Some(facts) if !tagged_by_others(&facts.tags, tag) => {
            remove_made(client, id).map(|()| true)
        }
        // Someone's image, or already gone.
        _ => Ok(false),
    }
}

/// Removes one image this build made, leaving its parents alone (`noprune`: a parent may be
/// a cached step from before). An image something else still uses stays.
pub fn remove_made(client: &Client, id: &str) -> Result<()> {
    let docker = client.docker();
    client.block_on(async {
        docker
            .remove_image(
                id,
                Some(bollard::query_parameters::RemoveImageOptions {
                    force: false,
                    noprune: true,
                    ..Default::default()
                }),
                None,
            )
            .await
            .map(|_| ())
            .map_err(|e| crate::docker::connection::describe(&e, id))
    })
}

/// `pyslim-proposal/fat-app:latest` for `fat-app:1.2` or `./fat-app.tar`.
pub fn default_tag(reference: &str) -> String {
    let name = reference
        .rsplit('/')
        .next()
        .unwrap_or(reference)
        .split([':', '@'])
        .next()
        .unwrap_or("image")
        .trim_end_matches(".tar");
    let clean: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.' {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect();
    let clean = clean.trim_matches(|c| c == '-' || c == '.' || c == '_');
    format!(
        "pyslim-proposal/{}:latest",
        if clean.is_empty() { "image" } else { clean }
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn only_images_the_build_made_are_removed() {
        let before: std::collections::HashSet<String> = [
            format!("sha256:{}", "a".repeat(64)), // the FROM's base, or a `FROM x AS uv` stage
            format!("sha256:{}", "c".repeat(64)), // a step the cache supplied
        ]
        .into();
        let made: Vec<String> = [
            "aaaaaaaaaaaa",
            "bbbbbbbbbbbb",
            "cccccccccccc",
            "dddddddddddd",
        ]
        .map(String::from)
        .to_vec();
        assert_eq!(
            super::removable(&made, &before, None),
            vec!["dddddddddddd", "bbbbbbbbbbbb"]
        );
        assert_eq!(
            super::removable(&made, &before, Some(&format!("sha256:{}", "d".repeat(64)))),
            vec!["bbbbbbbbbbbb"],
            "--keep keeps the built image"
        );
    }

    #[test]
    fn an_image_tagged_by_anyone_but_the_build_is_not_a_step() {
        let own = "pyslim-proposal/app:latest";
        let tags = |t: &[&str]| t.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert!(!super::tagged_by_others(&[], own), "an untagged step image");
        assert!(!super::tagged_by_others(&tags(&["<none>:<none>"]), own));
        assert!(
            !super::tagged_by_others(&tags(&[own]), own),
            "the built image"
        );
        assert!(!super::tagged_by_others(&tags(&["myapp:latest"]), "myapp"));
        assert!(!super::tagged_by_others(
            &tags(&["myapp:latest"]),
            "docker.io/library/myapp"
        ));
        assert!(
            super::tagged_by_others(&tags(&["python:3.12"]), own),
            "a base"
        );
        assert!(super::tagged_by_others(&tags(&[own, "mine:1"]), own));
        assert!(super::tagged_by_others(&tags(&["myapp:1.0"]), "myapp"));
        assert!(super::tagged_by_others(
            &tags(&["localhost:5000/myapp:latest"]),
            "myapp"
        ));
    }

    #[test]
    fn default_tags_are_valid_names() {
        assert_eq!(
            super::default_tag("fat-app:1.2"),
            "pyslim-proposal/fat-app:latest"
        );
        assert_eq!(
            super::default_tag("bench/out/Fat App.tar"),
            "pyslim-proposal/fat-app:latest"
        );
        assert_eq!(super::default_tag("::"), "pyslim-proposal/image:latest");
    }
}
