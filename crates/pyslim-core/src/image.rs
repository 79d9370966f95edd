//! The image model: configuration, history and layers, as read from any source.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::entry::LayerChanges;

/// Where an image was read from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "kebab-case")]
pub enum SourceKind {
    Docker,
    DockerArchive,
    Oci,
    Registry,
    Demo,
}

impl SourceKind {
    pub fn as_str(self) -> &'static str {
        match self {
            SourceKind::Docker => "docker",
            SourceKind::DockerArchive => "docker-archive",
            SourceKind::Oci => "oci",
            SourceKind::Registry => "registry",
            SourceKind::Demo => "demo",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "lowercase")]
pub enum Compression {
    None,
    Gzip,
    Zstd,
}

/// The runtime configuration an image carries (OCI config `config` object).
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct ImageConfig {
    pub user: String,
    pub env: Vec<String>,
    pub entrypoint: Vec<String>,
    pub cmd: Vec<String>,
    pub workdir: String,
    pub exposed_ports: Vec<String>,
    pub labels: BTreeMap<String, String>,
    pub architecture: String,
    pub os: String,
    pub created: Option<String>,
}

/// One entry of the config's `history`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct HistoryEntry {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created: Option<String>,
    #[serde(default)]
    pub created_by: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    #[serde(default)]
    pub empty_layer: bool,
}

impl HistoryEntry {
    /// The Dockerfile instruction in the form a user wrote it: `RUN apt-get …`, `COPY …`.
    /// Docker records shell-form RUN as `/bin/sh -c …` and others as `/bin/sh -c #(nop) …`;
    /// BuildKit writes `RUN /bin/sh -c … # buildkit`.
    pub fn instruction(&self) -> String {
        let s = self.created_by.trim();
        if s.is_empty() {
            // `docker import` leaves created_by empty and says "Imported from …" in the comment.
            return self.comment.clone().unwrap_or_default();
        }
        let s = s.strip_suffix("# buildkit").unwrap_or(s).trim();
        // BuildKit writes `RUN /bin/sh -c cmd` (or `RUN |2 A=1 /bin/sh -c cmd` with build args):
        // the shell prefix is noise beside the command the Dockerfile had.
        let s = match s.strip_prefix("RUN ") {
            Some(rest) if rest.trim_start().starts_with("/bin/sh -c ") => rest.trim_start(),
            Some(rest) if rest.starts_with('|') && rest.contains("/bin/sh -c ") => rest,
            _ => s,
        };
        if let Some(rest) = s.strip_prefix("/bin/sh -c #(nop) ") {
            return rest.trim().to_owned();
        }
        if let Some(rest) = s.strip_prefix("/bin/sh -c ") {
            return format!("RUN {}", rest.trim());
        }
        if let Some(rest) = s.strip_prefix("|") {
            // Classic builder with build args: `|2 A=1 B=2 /bin/sh -c cmd`.
            if let Some(pos) = rest.find("/bin/sh -c ") {
                return format!("RUN {}", rest[pos + "/bin/sh -c ".len()..].trim());
            }
        }
        s.to_owned()
    }
}

/// One layer of an image, bottom first.
#[derive(Debug, Clone)]
pub struct Layer {
    pub index: usize,
    /// Digest of the blob as stored (compressed when the blob is), when the source knows it.
    pub digest: Option<String>,
    /// Digest of the uncompressed tar, from the image config.
    pub diff_id: String,
    pub compression: Compression,
    /// Bytes of the blob as stored, when the source knows it.
    pub blob_bytes: Option<u64>,
    /// The history entry that made this layer.
    pub history: Option<HistoryEntry>,
    pub changes: LayerChanges,
}

impl Layer {
    pub fn instruction(&self) -> String {
        self.history
            .as_ref()
            .map(HistoryEntry::instruction)
            .unwrap_or_default()
    }

    /// Content captured for entry `index` of this layer, if the reader kept any.
    pub fn capture(&self, index: u32) -> Option<&super::content::Captured> {
        let caps = &self.changes.captures;
        caps.binary_search_by_key(&index, |(i, _)| *i)
            .ok()
            .map(|pos| &caps[pos].1)
    }

    /// Bytes of file content the layer carries (what dive calls the layer's size).
    pub fn content_bytes(&self) -> u64 {
        self.changes.entries.iter().map(|e| e.size).sum()
    }
}

#[derive(Debug, Clone)]
pub struct Image {
    /// What the user asked for: a name, a path.
    pub reference: String,
    pub source: SourceKind,
    /// Config digest (the image ID).
    pub id: String,
    pub config: ImageConfig,
    /// Every history entry, including those that made no layer.
    pub history: Vec<HistoryEntry>,
    pub layers: Vec<Layer>,
    pub warnings: Vec<String>,
}

/// Pairs layers with the history entries that made them: entries marked `empty_layer` made
/// none. Returns one slot per layer; a layer with no matching entry gets `None`.
pub fn history_for_layers(
    history: &[HistoryEntry],
    layer_count: usize,
) -> Vec<Option<HistoryEntry>> {
    let mut made: Vec<Option<HistoryEntry>> = history
        .iter()
        .filter(|h| !h.empty_layer)
        .cloned()
        .map(Some)
        .collect();
    made.resize(layer_count, None);
    made.truncate(layer_count);
    made
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(created_by: &str, empty: bool) -> HistoryEntry {
        HistoryEntry {
            created_by: created_by.into(),
            empty_layer: empty,
            ..Default::default()
        }
    }

    #[test]
    fn instructions_read_like_a_dockerfile() {
        assert_eq!(
            h("/bin/sh -c #(nop)  CMD [\"python\"]", true).instruction(),
            "CMD [\"python\"]"
        );
        assert_eq!(
            h("/bin/sh -c apt-get update", false).instruction(),
            "RUN apt-get update"
        );
        assert_eq!(
            h("RUN /bin/sh -c pip install x # buildkit", false).instruction(),
            "RUN pip install x"
        );
        assert_eq!(
            h("RUN |2 A=1 B=2 /bin/sh -c make install # buildkit", false).instruction(),
            "RUN make install"
        );

        assert_eq!(h("|1 V=2 /bin/sh -c make", false).instruction(), "RUN make");
        assert_eq!(
            h("COPY app /app # buildkit", false).instruction(),
            "COPY app /app"
        );
    }

    #[test]
    fn history_skips_entries_that_made_no_layer() {
        let hist = vec![
            h("ADD rootfs", false),
            h("ENV A=1", true),
            h("RUN x", false),
            h("CMD y", true),
        ];
        let per_layer = history_for_layers(&hist, 2);
        assert_eq!(per_layer[0].as_ref().unwrap().created_by, "ADD rootfs");
        assert_eq!(per_layer[1].as_ref().unwrap().created_by, "RUN x");
        let short = history_for_layers(&hist, 3);
        assert!(short[2].is_none());
    }
}
