//! Copies an image into an OCI layout directory with every layer compressed one way (gzip
//! or zstd): the same layer tars, byte for byte, so the diff_ids and the config stay as they
//! were and only the blobs change. It is how the tests put one real image in front of every
//! reader (`docker save` tar, OCI gzip, OCI zstd) and demand the same answer from each.

use std::fs::{self, File};
use std::io::{self, BufWriter, Write};
use std::path::Path;

use serde_json::json;
use sha2::Digest;

use super::layer_copy::HashWriter;
use super::rewrite::{open_store, resolve};
use super::{media_type, sha256_hex};
use crate::source::layer_io::{decompressed, describe_io};
use pyslim_core::error::{Error, Result};
use pyslim_core::image::Compression;

/// Writes the image at `source` (a docker-archive or OCI layout, tar or directory, not
/// itself compressed) as an OCI layout directory at `out`, each layer compressed with
/// `compression`. Memory stays flat: every layer streams from the source through the
/// encoder into its blob.
pub fn to_oci_dir(
    source: &Path,
    out: &Path,
    compression: Compression,
    max_json_bytes: u64,
) -> Result<()> {
    let store = open_store(source)?;
    let input = store.input().to_owned();
    let resolved = resolve(&*store, None, max_json_bytes)?;
    let config = store.read_json(&resolved.config_member, max_json_bytes)?;
    let blobs = out.join("blobs/sha256");
    fs::create_dir_all(&blobs).map_err(|e| Error::io(&blobs, e))?;
    let mut layers = Vec::new();
    for (i, layer) in resolved.layers.iter().enumerate() {
        let label = format!("{input}: {}", layer.member);
        let staged = blobs.join(format!(".layer{i}.partial"));
        let file = File::create(&staged).map_err(|e| Error::io(&staged, e))?;
        let mut sink = HashWriter::new(BufWriter::new(file));
        let mut tar = decompressed(store.open_member(&layer.member)?)
            .map_err(|e| Error::corrupt(&label, describe_io(&e)))?;
        let written = match compression {
            Compression::None => io::copy(&mut tar, &mut sink).map(|_| ()),
            Compression::Gzip => {
                let mut enc = flate2::write::GzEncoder::new(&mut sink, flate2::Compression::fast());
                io::copy(&mut tar, &mut enc).and_then(|_| enc.finish().map(|_| ()))
            }
            Compression::Zstd => zstd::stream::copy_encode(&mut tar, &mut sink, 1),
        };
        written
            .and_then(|()| sink.flush())
            .map_err(|e| Error::io(&staged, e))?;
        let digest = hex::encode(sink.hasher.finalize());
        let blob = blobs.join(&digest);
        fs::rename(&staged, &blob).map_err(|e| Error::io(&blob, e))?;
        layers.push(json!({
            "mediaType": media_type(compression),
            "digest": format!("sha256:{digest}"),
            "size": sink.bytes,
        }));
    }
    let config_hex = sha256_hex(&config);
    write(&blobs.join(&config_hex), &config)?;
    let manifest = serde_json::to_vec(&json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                   "digest": format!("sha256:{config_hex}"), "size": config.len()},
        "layers": layers,
    }))
    .map_err(|e| Error::corrupt(&input, format!("cannot write the manifest: {e}")))?;
    let manifest_hex = sha256_hex(&manifest);
    write(&blobs.join(&manifest_hex), &manifest)?;
    let index = serde_json::to_vec(&json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": [{
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "digest": format!("sha256:{manifest_hex}"),
            "size": manifest.len(),
        }],
    }))
    .map_err(|e| Error::corrupt(&input, format!("cannot write the index: {e}")))?;
    write(&out.join("index.json"), &index)?;
    write(
        &out.join("oci-layout"),
        br#"{"imageLayoutVersion":"1.0.0"}"#,
    )
}

fn write(path: &Path, data: &[u8]) -> Result<()> {
    fs::write(path, data).map_err(|e| Error::io(path, e))
}
