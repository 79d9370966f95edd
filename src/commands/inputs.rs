//! What commands read before they work: the image the arguments name (opened and examined
//! here, the same way for every command), the user's configuration and their Dockerfile.

use std::io::IsTerminal;

use pyslim::cli::{ImageArgs, ReadArgs, TrimOutputArgs};
use pyslim::config;
use pyslim::core::findings::RuleSet;
use pyslim::core::{examine, Examination};
use pyslim::source::layer_cache::{self, DiskCache};
use pyslim::source::{Limits, OpenOptions, ReadOptions};
use pyslim::{demo, Image, Result};

/// Opens the image `args` name and examines it: with `rules`, its inventory and findings too
/// (without, no file contents are read). Progress goes to stderr when it is a terminal.
pub(crate) fn open_examined(
    args: &ImageArgs,
    rules: Option<&RuleSet>,
    top: usize,
) -> Result<(Image, Examination)> {
    let image = open_image(args, rules.is_none(), true)?;
    let ex = examine(&image, rules, top);
    Ok((image, ex))
}

pub(crate) fn open_image(args: &ImageArgs, skip_contents: bool, progress: bool) -> Result<Image> {
    open_image_observed(
        args,
        skip_contents,
        progress,
        std::sync::Arc::new(pyslim::source::Quiet),
    )
}

pub(crate) fn open_image_observed(
    args: &ImageArgs,
    skip_contents: bool,
    progress: bool,
    observer: std::sync::Arc<dyn pyslim::source::LoadObserver>,
) -> Result<Image> {
    let Some(reference) = args.image.as_deref().filter(|_| !args.demo) else {
        return demo::image();
    };
    let opts = open_options(&args.read, skip_contents, progress);
    pyslim::source::open_observed(reference, &opts, observer)
}

pub(crate) fn open_options(args: &ReadArgs, skip_contents: bool, progress: bool) -> OpenOptions {
    OpenOptions {
        cache: None,
        disk_cache: if args.no_cache || no_cache_from_env() {
            None
        } else {
            disk_cache()
        },
        source: args.source.into(),
        platform: args.platform.clone(),
        read: ReadOptions {
            verify_diff_ids: args.verify,
            skip_contents,
            limits: Limits {
                max_entries_per_layer: args.max_entries,
                max_total_entries: args.max_total_entries,
                max_path_bytes: args.max_path_bytes,
                max_path_depth: args.max_path_depth,
                max_json_bytes: args.max_json_bytes,
            },
            ..Default::default()
        },
        progress: progress && std::io::stderr().is_terminal(),
        registry: registry_options(&args.registry),
    }
}

/// The registry options the flags give. `--password-stdin` reads standard input once, however
/// many images are opened.
fn registry_options(args: &pyslim::cli::RegistryArgs) -> pyslim::source::registry::RegistryOptions {
    static PASSWORD: std::sync::OnceLock<Option<String>> = std::sync::OnceLock::new();
    let password = if args.password_stdin {
        PASSWORD
            .get_or_init(|| {
                let mut text = String::new();
                std::io::Read::read_to_string(&mut std::io::stdin(), &mut text).ok()?;
                Some(text.trim_end_matches(['\n', '\r']).to_owned())
            })
            .clone()
    } else {
        None
    };
    pyslim::source::registry::RegistryOptions {
        username: args.username.clone(),
        password,
        ca_cert: args.ca_cert.clone(),
        insecure_registries: args.insecure_registry.clone(),
    }
}

/// The layer cache the environment and `.pyslim.toml` name; `None` (read without it) when
/// it cannot be made (say, a read-only home): a cache only ever saves time.
pub(crate) fn disk_cache() -> Option<std::sync::Arc<DiskCache>> {
    let dir = layer_cache::default_dir()?;
    let max = cache_bound();
    DiskCache::open(&dir, max).ok().map(std::sync::Arc::new)
}

/// `PYSLIM_NO_CACHE` set to anything but empty, `0` or `false`.
fn no_cache_from_env() -> bool {
    std::env::var("PYSLIM_NO_CACHE").is_ok_and(|v| {
        !matches!(
            v.trim().to_ascii_lowercase().as_str(),
            "" | "0" | "false" | "no"
        )
    })
}

/// The cache's bound: `[cache] max-size` from `.pyslim.toml` here, else the default.
pub(crate) fn cache_bound() -> u64 {
    std::env::current_dir()
        .ok()
        .and_then(|here| config::cache_max_bytes(&here).ok().flatten())
        .unwrap_or(layer_cache::DEFAULT_MAX_BYTES)
}

pub(crate) fn load_config(explicit: Option<&std::path::Path>) -> Result<config::UserConfig> {
    let here = std::env::current_dir().map_err(|e| pyslim::Error::io(".", e))?;
    config::load(explicit, &here)
}

/// The user's Dockerfile: the one named, else ./Dockerfile when there is one.
pub(crate) fn read_dockerfile(out: &TrimOutputArgs) -> Result<Option<(String, String)>> {
    read_dockerfile_at(out.dockerfile.as_deref())
}

/// The Dockerfile at `named`, else ./Dockerfile when there is one: (file name, text).
pub(crate) fn read_dockerfile_at(
    named: Option<&std::path::Path>,
) -> Result<Option<(String, String)>> {
    let path = match named {
        Some(p) => p.to_path_buf(),
        None => {
            let here = std::path::PathBuf::from("Dockerfile");
            if !here.is_file() {
                return Ok(None);
            }
            here
        }
    };
    let text = std::fs::read_to_string(&path).map_err(|e| pyslim::Error::io(&path, e))?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "Dockerfile".into());
    Ok(Some((name, text)))
}
