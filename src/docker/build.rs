//! Building a Dockerfile through the engine API (no docker CLI), and reading back what each
//! layer of the result weighs.

use std::collections::HashMap;
use std::path::Path;

use futures_util::StreamExt;

use super::context::{context_tar, DOCKERFILE_IN_CONTEXT};
use super::Client;
use crate::error::{Error, Result};

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
    /// The last image of each earlier stage this build made (untagged, left behind by the
    /// classic builder); stages the cache supplied are not listed.
    pub stage_images: Vec<String>,
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
pub fn build(client: &Client, req: &BuildRequest) -> Result<Built> {
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
        let mut stage_images = Vec::new();
        let mut last_step_image = String::new();
        // An image the cache supplied existed before this build: not ours to remove.
        let mut last_step_cached = false;
        while let Some(item) = stream.next().await {
            let info = match item {
                Ok(info) => info,
                Err(bollard::errors::Error::DockerStreamError { error }) => {
                    return Err(build_failed(req.tag, &error, &log));
                }
                Err(e) => {
                    let described = crate::source::daemon::describe(&e, req.tag);
                    return Err(build_failed(req.tag, &described.to_string(), &log));
                }
            };
            if let Some(detail) = info.error_detail.as_ref().and_then(|d| d.message.clone()) {
                return Err(build_failed(req.tag, &detail, &log));
            }
            if let Some(text) = info.stream.as_deref() {
                for line in text.lines().filter(|l| !l.trim().is_empty()) {
                    let line_t = line.trim();
                    if let Some(id) = line_t.strip_prefix("Successfully built ") {
                        image_id = id.trim().to_owned();
                    } else if line_t == "---> Using cache" {
                        last_step_cached = true;
                    } else if let Some(id) = line_t.strip_prefix("---> ") {
                        if !id.contains(' ') {
                            last_step_image = id.to_owned();
                        }
                    } else if line_t.starts_with("Step ") {
                        let stage_ends = line_t.contains(" : FROM ");
                        if stage_ends && !last_step_image.is_empty() && !last_step_cached {
                            stage_images.push(last_step_image.clone());
                        }
                        last_step_image.clear();
                        last_step_cached = false;
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
            stage_images,
            log_tail: log.join("\n"),
        })
    })
}

fn build_failed(tag: &str, why: &str, log: &[String]) -> Error {
    let last = log
        .iter()
        .rev()
        .find(|l| l.starts_with("Step "))
        .map(|s| format!(" at {}", crate::text::one_line(s)))
        .unwrap_or_default();
    Error::Daemon(format!(
        "building {tag} failed{last}: {}",
        crate::text::one_line(why)
    ))
}

/// The image's history with each entry's size, newest first.
pub fn history(client: &Client, reference: &str) -> Result<Vec<HistoryLayer>> {
    let docker = client.docker();
    client.block_on(async {
        let h = docker
            .image_history(reference)
            .await
            .map_err(|e| crate::source::daemon::describe(&e, reference))?;
        Ok(h.into_iter()
            .map(|e| HistoryLayer {
                created_by: e.created_by,
                size: e.size.max(0) as u64,
            })
            .collect())
    })
}

/// Removes an untagged image pyslim's build left behind, unless something still uses it.
pub fn remove_unused(client: &Client, id: &str) -> Result<()> {
    let docker = client.docker();
    client.block_on(async {
        docker
            .remove_image(
                id,
                Some(bollard::query_parameters::RemoveImageOptions {
                    force: false,
                    noprune: false,
                    ..Default::default()
                }),
                None,
            )
            .await
            .map(|_| ())
            .map_err(|e| crate::source::daemon::describe(&e, id))
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
