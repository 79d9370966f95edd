//! The arguments every command that reads an image shares: which image (`ImageArgs`), and
//! how it is read (`ReadArgs`: source, platform, limits, cache, registry access).

use clap::Args;

use crate::source::{Limits, SourceChoice};

/// `--source`: where to read an image from, as the command line names it. The image crate's
/// `SourceChoice` knows no clap; this is its spelling on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum SourceArg {
    /// A file or directory when one exists at that path, else the Docker daemon, else (when
    /// the daemon has no such image, or none answers) the image's registry.
    #[default]
    Auto,
    Docker,
    DockerArchive,
    Oci,
    /// A registry, read over HTTP without pulling (as `registry://HOST/REPO:TAG`).
    Registry,
}

impl From<SourceArg> for SourceChoice {
    fn from(arg: SourceArg) -> SourceChoice {
        match arg {
            SourceArg::Auto => SourceChoice::Auto,
            SourceArg::Docker => SourceChoice::Docker,
            SourceArg::DockerArchive => SourceChoice::DockerArchive,
            SourceArg::Oci => SourceChoice::Oci,
            SourceArg::Registry => SourceChoice::Registry,
        }
    }
}

#[derive(Args, Debug, Clone)]
pub struct ImageArgs {
    /// Image name (from the Docker daemon, else its registry), `docker save` tarball, or OCI
    /// layout (dir or tar). Prefixes force a source: docker://NAME, docker-archive:PATH,
    /// oci:PATH, registry://HOST/REPO:TAG (or @sha256:DIGEST).
    /// With no image, the demo image built into pyslim is used.
    pub image: Option<String>,

    /// Use the demo image built into pyslim.
    #[arg(long, conflicts_with = "image")]
    pub demo: bool,

    #[command(flatten)]
    pub read: ReadArgs,
}

/// How images are read: the options every command that reads an image shares (compare too).
#[derive(Args, Debug, Clone)]
pub struct ReadArgs {
    /// Where to read the image from.
    #[arg(long, value_enum, default_value_t = SourceArg::Auto)]
    pub source: SourceArg,

    /// Platform to pick from a multi-platform OCI index or registry manifest list
    /// (os/arch[/variant]); default: this host's.
    #[arg(long)]
    pub platform: Option<String>,

    /// Check every layer's sha256 against its diff_id (reads every byte; slower).
    #[arg(long)]
    pub verify: bool,

    /// Most entries one layer may hold.
    #[arg(long, default_value_t = Limits::default().max_entries_per_layer)]
    pub max_entries: u64,

    /// Most entries all the layers of one image may hold together.
    #[arg(long, default_value_t = Limits::default().max_total_entries)]
    pub max_total_entries: u64,

    /// Longest path, in bytes, an entry may have.
    #[arg(long, default_value_t = Limits::default().max_path_bytes)]
    pub max_path_bytes: usize,

    /// Deepest path, in components, an entry may have.
    #[arg(long, default_value_t = Limits::default().max_path_depth)]
    pub max_path_depth: usize,

    /// Largest JSON document (manifest, index, config) pyslim will read.
    #[arg(long, default_value_t = Limits::default().max_json_bytes)]
    pub max_json_bytes: u64,

    /// Neither read layers from the layer cache nor store them there (also: the environment
    /// variable PYSLIM_NO_CACHE=1).
    #[arg(long)]
    pub no_cache: bool,

    #[command(flatten)]
    pub registry: RegistryArgs,
}

/// How to reach a registry (for `registry://` images, `--source registry`, and names the
/// Docker daemon does not have).
#[derive(Args, Debug, Clone, Default)]
pub struct RegistryArgs {
    /// Registry user; the password (or token) is read from standard input with
    /// --password-stdin. Default: PYSLIM_REGISTRY_USERNAME and PYSLIM_REGISTRY_PASSWORD, else
    /// the docker CLI's login ($DOCKER_CONFIG/config.json and its credential helpers).
    #[arg(long, requires = "password_stdin")]
    pub username: Option<String>,

    /// Read the registry password (or token) for --username from standard input.
    #[arg(long, requires = "username")]
    pub password_stdin: bool,

    /// A CA certificate (PEM) to trust for registries, besides the system's.
    #[arg(long, value_name = "FILE")]
    pub ca_cert: Option<std::path::PathBuf>,

    /// A registry to reach without verifying its TLS certificate, or in plain http, as
    /// dockerd's option of that name (loopback hosts may always speak plain http). Repeatable.
    #[arg(long, value_name = "HOST")]
    pub insecure_registry: Vec<String>,
}
