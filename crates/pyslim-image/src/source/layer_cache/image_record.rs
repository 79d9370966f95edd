//! What a daemon image needs besides its layers to be read again without an export: its
//! config (without the environment, which may hold credentials and which inspect gives back
//! every time) and how its export stored each layer.

use serde::{Deserialize, Serialize};

use pyslim_core::image::Compression;

use super::codec::{compression_code, compression_of};

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ImageRecord {
    /// The image id a read gave.
    pub id: String,
    /// The export's config member name, and the config with `config.Env` removed.
    pub config_member: String,
    config_without_env: Vec<u8>,
    pub layers: Vec<RecordLayer>,
    /// What resolving the export's manifest warned of.
    pub warnings: Vec<String>,
}

/// One layer as the export stored it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RecordLayer {
    pub member: String,
    pub diff_id: String,
    pub digest: Option<String>,
    compression: u8,
    pub blob_bytes: u64,
}

impl RecordLayer {
    pub fn new(
        member: String,
        diff_id: String,
        digest: Option<String>,
        compression: Compression,
        blob_bytes: u64,
    ) -> Self {
        RecordLayer {
            member,
            diff_id,
            digest,
            compression: compression_code(compression),
            blob_bytes,
        }
    }

    pub fn compression(&self) -> Compression {
        compression_of(self.compression).unwrap_or(Compression::None)
    }
}

impl ImageRecord {
    /// A record of `config` (the export's config bytes); `None` when it is not a JSON object.
    pub fn new(
        id: String,
        config_member: String,
        config: &[u8],
        layers: Vec<RecordLayer>,
        warnings: Vec<String>,
    ) -> Option<Self> {
        let mut value: serde_json::Value = serde_json::from_slice(config).ok()?;
        if let Some(runtime) = value.get_mut("config").and_then(|c| c.as_object_mut()) {
            runtime.remove("Env");
        }
        Some(ImageRecord {
            id,
            config_member,
            config_without_env: serde_json::to_vec(&value).ok()?,
            layers,
            warnings,
        })
    }

    /// The config again, with the environment inspect gives (`None`: the config had none).
    pub fn config_with_env(&self, env: Option<&[String]>) -> Option<Vec<u8>> {
        let mut value: serde_json::Value = serde_json::from_slice(&self.config_without_env).ok()?;
        if let (Some(env), Some(runtime)) =
            (env, value.get_mut("config").and_then(|c| c.as_object_mut()))
        {
            runtime.insert("Env".into(), serde_json::json!(env));
        }
        serde_json::to_vec(&value).ok()
    }
}
