//! What the daemon's inspect and history say of an image before its export sends a byte:
//! which history entry made which layer, so a screen can name and size every layer at once.

/// What the daemon says of an image before any layer is read: enough to list the layers.
#[derive(Debug, Clone)]
pub struct DaemonSummary {
    pub id: String,
    pub size: u64,
    pub diff_ids: Vec<String>,
    /// History, oldest first: (created_by, size).
    pub history: Vec<(String, i64)>,
}

impl DaemonSummary {
    /// One instruction per layer, bottom first, from the history the daemon gave; layers
    /// are just numbered when the history cannot be matched to them.
    pub fn layer_instructions(&self) -> Vec<String> {
        self.layer_rows().into_iter().map(|(i, _)| i).collect()
    }

    /// Each layer's instruction and the size history gives it, bottom first: what a screen
    /// can show before the export has sent a byte. The API does not say which entries made
    /// layers (the config's `empty_layer` is not in it): an entry with bytes did; ENV, CMD
    /// and the other metadata instructions did not, whichever builder wrote them (BuildKit
    /// omits the classic builder's `#(nop)`); a RUN, COPY, ADD or WORKDIR of 0 bytes did
    /// when the layers left to place need it, or when the next layer is the empty tar the
    /// classic builder commits for a step that changed nothing.
    pub fn layer_rows(&self) -> Vec<(String, Option<u64>)> {
        let n = self.diff_ids.len();
        let kinds: Vec<Makes> = self
            .history
            .iter()
            .map(|(by, size)| makes_layer(by, *size))
            .collect();
        let mut rows = Vec::with_capacity(n);
        for (i, ((by, size), kind)) in self.history.iter().zip(&kinds).enumerate() {
            let rest = &kinds[i + 1..];
            let must_rest = rest.iter().filter(|k| **k == Makes::Must).count();
            let maybe_rest = rest.iter().filter(|k| **k == Makes::Maybe).count();
            let need = n.saturating_sub(rows.len());
            let take = match kind {
                Makes::Must => true,
                Makes::Never => false,
                Makes::Maybe if need <= must_rest => false,
                Makes::Maybe if need > must_rest + maybe_rest => true,
                Makes::Maybe => {
                    self.diff_ids.get(rows.len()).map(String::as_str) == Some(EMPTY_TAR)
                }
            };
            if take {
                let h = pyslim_core::image::HistoryEntry {
                    created_by: by.clone(),
                    ..Default::default()
                };
                let instruction = if by.trim().is_empty() {
                    "imported".to_owned()
                } else {
                    h.instruction()
                };
                rows.push((instruction, Some((*size).max(0) as u64)));
            }
        }
        if rows.len() == n {
            return rows;
        }
        (0..n).map(|i| (format!("layer {i}"), None)).collect()
    }

    /// The layers (positions, bottom first) a blob with this diff_id is: the export names
    /// its members by other ids, and one blob may serve several identical layers.
    pub fn positions_of(&self, diff_id: &str) -> Vec<usize> {
        (0..self.diff_ids.len())
            .filter(|&i| self.diff_ids[i] == diff_id)
            .collect()
    }
}

/// The diff_id of an empty layer tar (1024 zero bytes), which the classic builder commits
/// for a RUN that changed nothing.
const EMPTY_TAR: &str = "sha256:5f70bf18a086007016e948b04aed3b82103a36bea41755b6cddfaf10ace3c6ef";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Makes {
    Must,
    Maybe,
    Never,
}

/// Whether a history entry made a layer, from its command and size alone.
fn makes_layer(by: &str, size: i64) -> Makes {
    if size > 0 {
        return Makes::Must;
    }
    let h = pyslim_core::image::HistoryEntry {
        created_by: by.to_owned(),
        ..Default::default()
    };
    let instruction = h.instruction();
    let word = instruction
        .split_whitespace()
        .next()
        .unwrap_or("")
        .to_ascii_uppercase();
    const METADATA: &[&str] = &[
        "ENV",
        "CMD",
        "ENTRYPOINT",
        "LABEL",
        "EXPOSE",
        "ARG",
        "USER",
        "VOLUME",
        "STOPSIGNAL",
        "HEALTHCHECK",
        "SHELL",
        "ONBUILD",
        "MAINTAINER",
    ];
    if METADATA.contains(&word.as_str()) {
        Makes::Never
    } else {
        Makes::Maybe
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn summary(history: &[(&str, i64)], diff_ids: &[&str]) -> DaemonSummary {
        DaemonSummary {
            id: String::new(),
            size: 0,
            diff_ids: diff_ids.iter().map(|d| d.to_string()).collect(),
            history: history.iter().map(|(b, s)| (b.to_string(), *s)).collect(),
        }
    }

    #[test]
    fn buildkit_history_without_nop_markers_still_names_the_layers() {
        // BuildKit writes metadata steps without `#(nop)`, and a RUN may add 0 bytes.
        let s = summary(
            &[
                ("", 80_000_000),
                ("ENV PATH=/usr/local/bin:/usr/bin", 0),
                ("WORKDIR /app", 0),
                ("COPY requirements.txt . # buildkit", 120),
                (
                    "RUN /bin/sh -c pip install -r requirements.txt # buildkit",
                    50_000_000,
                ),
                ("RUN /bin/sh -c useradd app # buildkit", 0),
                ("USER app", 0),
                ("CMD [\"python\" \"app.py\"]", 0),
            ],
            &["sha256:a", "sha256:b", "sha256:c", "sha256:d", "sha256:e"],
        );
        assert_eq!(
            s.layer_instructions(),
            vec![
                "imported",
                "WORKDIR /app",
                "COPY requirements.txt .",
                "RUN pip install -r requirements.txt",
                "RUN useradd app",
            ]
        );
        assert_eq!(s.layer_rows()[3].1, Some(50_000_000));
    }

    #[test]
    fn a_step_of_zero_bytes_makes_a_layer_when_the_layer_is_the_empty_tar() {
        // Classic builder: one of two RUNs of 0 bytes committed a layer; the empty tar
        // among the diff_ids says which.
        let history = [
            ("/bin/sh -c #(nop) ADD file:abc in / ", 30_000_000),
            ("/bin/sh -c true", 0),
            ("/bin/sh -c #(nop)  ENV A=1", 0),
            ("/bin/sh -c pip install flask", 5_000_000),
            ("/bin/sh -c mkdir /data", 0),
            ("/bin/sh -c #(nop)  CMD [\"bash\"]", 0),
        ];
        let s = summary(&history, &["sha256:base", EMPTY_TAR, "sha256:pip"]);
        assert_eq!(
            s.layer_instructions(),
            vec!["ADD file:abc in /", "RUN true", "RUN pip install flask"]
        );
        let s = summary(&history, &["sha256:base", "sha256:pip", "sha256:mkdir"]);
        assert_eq!(
            s.layer_instructions(),
            vec![
                "ADD file:abc in /",
                "RUN pip install flask",
                "RUN mkdir /data"
            ]
        );
        // What cannot be matched is numbered, with no sizes, rather than guessed.
        let s = summary(&[("/bin/sh -c #(nop) ADD file:abc in / ", 30)], &["a", "b"]);
        assert_eq!(
            s.layer_rows(),
            vec![("layer 0".to_owned(), None), ("layer 1".to_owned(), None)]
        );
    }
}
