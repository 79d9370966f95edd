//! Images read straight from a registry (the distribution API), without pulling them into
//! a daemon. The repository is read as an OCI layout fetched over HTTP (see `store`): the
//! same resolver picks the platform, the same assembler reads the layers — several at once,
//! each streamed from the network into the layer reader and hashed as it passes.

mod auth;
mod client;
pub mod credentials;
mod messages;
mod progress;
pub mod reference;
mod store;
mod tls;
mod verifying;

use std::path::PathBuf;

use pyslim_core::error::Result;
use pyslim_core::image::{Image, SourceKind};

use super::{assemble, oci_layout, LoadObserver, OpenOptions};

pub use reference::Reference;

/// Layer blobs downloaded side by side. Each is also decompressed and parsed as it arrives,
/// so more than a few only share the same cores.
const PARALLEL_LAYERS: usize = 4;

/// How to reach registries: credentials given on this run, extra trust, plain-http hosts.
#[derive(Clone, Default)]
pub struct RegistryOptions {
    /// `--username` (with `--password-stdin`); else the environment and the docker config.
    pub username: Option<String>,
    pub password: Option<String>,
    /// `--ca-cert FILE`: a CA trusted besides the system's roots.
    pub ca_cert: Option<PathBuf>,
    /// `--insecure-registry HOST`: hosts spoken to without TLS verification, or in plain http.
    pub insecure_registries: Vec<String>,
}

impl std::fmt::Debug for RegistryOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RegistryOptions")
            .field("username", &self.username)
            .field("password", &self.password.as_ref().map(|_| "<hidden>"))
            .field("ca_cert", &self.ca_cert)
            .field("insecure_registries", &self.insecure_registries)
            .finish()
    }
}

impl RegistryOptions {
    fn given(&self) -> Option<credentials::Credentials> {
        Some(credentials::Credentials {
            username: self.username.clone()?,
            secret: self.password.clone()?,
        })
    }
}

/// Whether `text` names an image in a registry (a reference, not a path).
pub fn is_reference(text: &str) -> bool {
    Reference::parse(text).is_some()
}

/// Reads the image `text` names from its registry. `connected` is told the registry's
/// name once it answers (before any manifest is read).
pub fn read_image(
    text: &str,
    opts: &OpenOptions,
    observer: &dyn LoadObserver,
    connected: &dyn Fn(&str),
) -> Result<Image> {
    let reference = Reference::parse_or_explain(text)?;
    let found = credentials::lookup(&reference.registry, opts.registry.given());
    let client = client::Client::connect(&reference, &opts.registry, found)?;
    connected(&format!("{} ({})", reference.registry, client.base()));
    let max_json = opts.read.limits.max_json_bytes;
    let progress = progress::Progress::new(opts.progress);
    let store = store::RegistryStore::open(&client, &reference, max_json, &progress)?;
    let resolved = oci_layout::resolve(&store, opts.platform.as_deref(), max_json)?;
    let total: u64 = resolved.layers.iter().filter_map(|l| l.size).sum();
    progress.start(total, resolved.layers.len());
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(PARALLEL_LAYERS.min(resolved.layers.len().max(1)))
        .thread_name(|i| format!("pyslim-pull-{i}"))
        .build()
        .map_err(|e| {
            pyslim_core::error::Error::Registry(format!("cannot start download threads: {e}"))
        })?;
    let name = reference.to_string();
    let image = pool.install(|| {
        assemble::assemble(
            &store,
            resolved,
            &name,
            SourceKind::Registry,
            &opts.read,
            observer,
            // A layer either cache holds is never downloaded: the store fetches a blob only
            // when the assembler reads the layer.
            assemble::Caches {
                memory: opts.cache.as_deref(),
                disk: opts.disk_cache.as_deref(),
            },
        )
    });
    progress.finish();
    image
}
