//! `docker load` through the API: an archive streamed from disk into `POST /images/load`.

use std::io::Read;
use std::path::Path;

use bytes::Bytes;
use futures_util::StreamExt;
use tokio::sync::mpsc;

use super::Client;
use pyslim_core::error::{Error, Result};

/// What the engine said while loading.
#[derive(Debug, Clone, PartialEq)]
pub struct Loaded {
    /// `Loaded image: NAME` / `Loaded image ID: sha256:…` lines.
    pub messages: Vec<String>,
}

const CHUNK: usize = 1 << 20;

/// Loads a docker-archive (or OCI-style docker-save tar) into the engine.
pub fn load(client: &Client, archive: &Path) -> Result<Loaded> {
    let mut file = std::fs::File::open(archive).map_err(|e| Error::io(archive, e))?;
    let label = archive.display().to_string();
    client.block_on(async {
        // The file is read on a blocking thread and handed over chunk by chunk.
        let (tx, rx) = mpsc::channel::<std::io::Result<Bytes>>(4);
        let reader = tokio::task::spawn_blocking(move || loop {
            let mut buf = vec![0u8; CHUNK];
            match file.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => {
                    buf.truncate(n);
                    if tx.blocking_send(Ok(Bytes::from(buf))).is_err() {
                        break;
                    }
                }
                Err(e) => {
                    let _ = tx.blocking_send(Err(e));
                    break;
                }
            }
        });
        let body = futures_util::stream::unfold(rx, |mut rx| async move {
            rx.recv().await.map(|item| (item, rx))
        });
        let mut stream = client.docker().import_image_stream(
            bollard::query_parameters::ImportImageOptions {
                quiet: true,
                ..Default::default()
            },
            body,
            None,
        );
        let mut messages = Vec::new();
        while let Some(item) = stream.next().await {
            match item {
                Ok(info) => {
                    if let Some(detail) = info.error_detail.and_then(|d| d.message) {
                        return Err(Error::Daemon(format!(
                            "the Docker daemon refused {label}: {detail}"
                        )));
                    }
                    for text in [info.stream, info.status].into_iter().flatten() {
                        let text = text.trim();
                        if !text.is_empty() {
                            messages.push(text.to_owned());
                        }
                    }
                }
                Err(e) => {
                    let err = crate::docker::connection::describe(&e, &label);
                    return Err(Error::Daemon(format!("loading {label} failed: {err}")));
                }
            }
        }
        let _ = reader.await;
        Ok(Loaded { messages })
    })
}

/// Bytes each history step of an image takes, oldest first, as the engine counts them
/// (`GET /images/{name}/history`): one per config history entry, 0 for steps that made no
/// layer.
pub fn history_sizes(client: &Client, reference: &str) -> Result<Vec<u64>> {
    client.block_on(async {
        let items = client
            .docker()
            .image_history(reference)
            .await
            .map_err(|e| crate::docker::connection::describe(&e, reference))?;
        Ok(items
            .into_iter()
            .rev()
            .map(|h| h.size.max(0) as u64)
            .collect())
    })
}
