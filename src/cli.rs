//! Command-line definitions (clap). Parsing only: commands live in main.rs and the library.

use clap::{Args, Parser, Subcommand};

mod read;

pub use read::{ImageArgs, ReadArgs, RegistryArgs, SourceArg};

#[derive(Parser, Debug)]
#[command(
    name = "pyslim",
    version,
    about = "Explore Python container images and make them small and safe"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Sizes, layers, largest files, wasted bytes, contents and findings of an image.
    Analyze(AnalyzeArgs),
    /// CI gate: exit 0 when the image passes every threshold, 1 when one fails, 2 on error.
    Check(CheckArgs),
    /// Explore an image in the terminal: layers, files, findings (the demo image without one).
    Explore(ExploreArgs),
    /// Compare variants of an image side by side (sources may differ per image).
    Compare(CompareArgs),
    /// Guided trimming session: accept or skip each finding, biggest first, and leave with a
    /// report, a Dockerfile patch and a decisions file. `--decisions FILE` runs it unattended.
    Trim(TrimArgs),
    /// Propose a multi-stage Dockerfile that rebuilds the image smaller and safer, with a size
    /// estimate; `--build` builds it with the Docker engine and measures it.
    Propose(ProposeArgs),
    /// The layer cache: its size and entries; `prune` to its bound, `clear` it all.
    Cache(CacheArgs),
}

#[derive(Args, Debug)]
pub struct CacheArgs {
    #[command(subcommand)]
    pub action: Option<CacheAction>,
    /// Print as JSON.
    #[arg(long, global = true)]
    pub json: bool,
}

#[derive(Subcommand, Debug, Clone, Copy, PartialEq, Eq)]
pub enum CacheAction {
    /// Show where the cache is, its size and its entries (the default).
    Show,
    /// Remove the least recently used entries until the cache is within its bound.
    Prune,
    /// Remove every entry.
    Clear,
}

/// The runtime a proposal targets.
#[derive(clap::ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum TargetArg {
    /// python:X-slim (Debian), or any Debian base given with --base.
    Slim,
    /// gcr.io/distroless/python3: no shell, no package manager.
    Distroless,
    /// python:X-alpine (musl).
    Alpine,
}

impl From<TargetArg> for crate::core::propose::Target {
    fn from(t: TargetArg) -> Self {
        match t {
            TargetArg::Slim => Self::Slim,
            TargetArg::Distroless => Self::Distroless,
            TargetArg::Alpine => Self::Alpine,
        }
    }
}

/// `--format`: what a report is written as. Every command accepts the word; a command that
/// cannot write one says so in one line (its `--help` lists the ones it writes).
#[derive(clap::ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutputFormat {
    /// For people, in a terminal.
    Text,
    /// For scripts; every document names its `schema` (docs/json.md, docs/schemas/).
    Json,
    /// For a pull-request comment or $GITHUB_STEP_SUMMARY.
    Markdown,
    /// One self-contained page.
    Html,
    /// SARIF 2.1.0, for code scanning.
    Sarif,
}

impl OutputFormat {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Text => "text",
            Self::Json => "json",
            Self::Markdown => "markdown",
            Self::Html => "html",
            Self::Sarif => "sarif",
        }
    }
}

#[derive(Args, Debug)]
pub struct ProposeArgs {
    #[command(flatten)]
    pub image: ImageArgs,

    /// The Dockerfile that built the image (default: ./Dockerfile, if present). Without one,
    /// the build steps are reconstructed from the image history.
    #[arg(short = 'f', long = "file")]
    pub dockerfile: Option<std::path::PathBuf>,

    /// The runtime to target.
    #[arg(long, value_enum, default_value_t = TargetArg::Slim)]
    pub target: TargetArg,

    /// Where to write the proposed Dockerfile (never over an existing file without --force).
    /// `-o -` writes it to stdout, and the report goes to stderr.
    #[arg(short = 'o', long = "output", default_value = "Dockerfile.pyslim")]
    pub output: std::path::PathBuf,

    /// Write over an existing output file (only that: --build never takes over an existing
    /// tag because of it; see --replace-tag).
    #[arg(long)]
    pub force: bool,

    /// Runtime base image (default: the target's, for the image's Python version).
    #[arg(long)]
    pub base: Option<String>,

    /// Builder base image (default: the target's, for the image's Python version).
    #[arg(long)]
    pub builder_base: Option<String>,

    /// A bases table of your own (same shape as assets/bases.toml; its entries win).
    #[arg(long)]
    pub bases: Option<std::path::PathBuf>,

    /// A Dockerfile template of your own (minijinja; may extend "base.Dockerfile").
    #[arg(long)]
    pub template: Option<std::path::PathBuf>,

    /// Configuration file (rules); default: .pyslim.toml here, if present.
    #[arg(long)]
    pub config: Option<std::path::PathBuf>,

    /// Report format: text (default), json (schema pyslim.propose/v1: the proposal, its
    /// estimate and, with --build, the measurement), markdown or html.
    #[arg(long, value_enum, value_name = "FORMAT")]
    pub format: Option<OutputFormat>,

    /// The same as --format json.
    #[arg(long)]
    pub json: bool,

    /// Build the proposal with the Docker engine and measure it against the estimate.
    #[arg(long)]
    pub build: bool,

    /// Build context for --build (default: the Dockerfile's directory, else this one).
    #[arg(long, requires = "build")]
    pub context: Option<std::path::PathBuf>,

    /// Build argument for --build (NAME=value; repeatable).
    #[arg(long = "build-arg", requires = "build")]
    pub build_args: Vec<String>,

    /// Network for the build's RUN steps (e.g. host).
    #[arg(long, requires = "build")]
    pub network: Option<String>,

    /// Tag for the built image (default: pyslim-proposal/NAME:latest).
    #[arg(long, requires = "build")]
    pub tag: Option<String>,

    /// Command to run in a container of the built image; the build fails the check if it
    /// fails. Example: --smoke 'python -c "import app"'.
    #[arg(long, requires = "build")]
    pub smoke: Option<String>,

    /// Keep the built image (it is removed otherwise; builder-stage images always are).
    #[arg(long, requires = "build")]
    pub keep: bool,

    /// Let --build use a --tag that already names an image. The build takes the tag over;
    /// afterwards the tag is given back to the image it named (with --keep it stays on the
    /// proposal, and the old image is left untagged, never deleted). Without this flag an
    /// existing tag is refused.
    #[arg(long, requires = "build")]
    pub replace_tag: bool,
}

#[derive(Args, Debug, Clone)]
pub struct TrimOutputArgs {
    /// The Dockerfile that built the image, for a patch (default: ./Dockerfile, if present).
    #[arg(short = 'f', long = "file")]
    pub dockerfile: Option<std::path::PathBuf>,

    /// Where the outputs go: PREFIX.md, PREFIX.patch, PREFIX.decisions.toml (never over an
    /// existing file).
    #[arg(short = 'o', long = "output", default_value = "pyslim-trim")]
    pub output: String,
}

#[derive(Args, Debug)]
pub struct TrimArgs {
    #[command(flatten)]
    pub image: ImageArgs,

    #[command(flatten)]
    pub out: TrimOutputArgs,

    /// Decide from this file (as a session writes it) instead of interactively; also writes
    /// the trimmed image to PREFIX.tar.
    #[arg(long)]
    pub decisions: Option<std::path::PathBuf>,

    #[command(flatten)]
    pub image_out: TrimImageArgs,

    /// Configuration file (rules); default: .pyslim.toml here, if present.
    #[arg(long)]
    pub config: Option<std::path::PathBuf>,

    /// Theme for the interactive session (as for explore).
    #[arg(long, env = "PYSLIM_THEME")]
    pub theme: Option<String>,
}

/// The trimmed image: how it is written, loaded and tested.
#[derive(Args, Debug, Clone, Default)]
pub struct TrimImageArgs {
    /// Archive format of PREFIX.tar: docker (docker-archive, what `docker load` reads) or
    /// oci (an OCI layout with manifest.json, which `docker load` reads too).
    #[arg(long, value_enum, default_value_t = TrimFormat::Docker)]
    pub format: TrimFormat,

    /// Write the trimmed image as one layer.
    #[arg(long)]
    pub squash: bool,

    /// Also load the trimmed image into the Docker daemon under this tag (an existing tag
    /// needs --force).
    #[arg(long, value_name = "TAG")]
    pub load: Option<String>,

    /// Run CMD in a container of the trimmed image and report pass or fail (exit 1 on fail).
    /// Without CMD: import the top-level module of every Python package in the image.
    #[arg(long, value_name = "CMD", num_args = 0..=1, default_missing_value = "")]
    pub smoke: Option<String>,

    /// Write over existing outputs (PREFIX.md, .patch, .decisions.toml, .tar; never the
    /// --decisions file being read), and retag an existing --load tag.
    #[arg(long)]
    pub force: bool,

    /// Write only the report, patch and decisions, not the trimmed image.
    #[arg(long, conflicts_with_all = ["load", "smoke", "squash"])]
    pub no_image: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum TrimFormat {
    #[default]
    Docker,
    Oci,
}

#[derive(Args, Debug)]
pub struct ExploreArgs {
    #[command(flatten)]
    pub image: ImageArgs,

    /// Configuration file (rules); default: .pyslim.toml here, if present.
    #[arg(long)]
    pub config: Option<std::path::PathBuf>,

    /// Theme: dark (default), light, high-contrast, or a theme file's path; also `theme = …`
    /// in .pyslim.toml. NO_COLOR turns colour off.
    #[arg(long, env = "PYSLIM_THEME")]
    pub theme: Option<String>,

    /// Keymap file changing some keys (default: ~/.config/pyslim/keymap.toml, if present).
    #[arg(long)]
    pub keymap: Option<std::path::PathBuf>,

    #[command(flatten)]
    pub out: TrimOutputArgs,
}

#[derive(Args, Debug)]
pub struct AnalyzeArgs {
    #[command(flatten)]
    pub image: ImageArgs,

    /// Configuration file (rules, check thresholds); default: .pyslim.toml here, if present.
    #[arg(long)]
    pub config: Option<std::path::PathBuf>,

    /// Report format: text (default), json (schema pyslim.analysis/v1, see docs/json.md),
    /// markdown or html (one self-contained page: treemap, layers, findings, inventory).
    #[arg(long, value_enum, value_name = "FORMAT")]
    pub format: Option<OutputFormat>,

    /// The same as --format json.
    #[arg(long)]
    pub json: bool,

    /// Where the report goes (default stdout; `-` is stdout too). A file is replaced.
    #[arg(short = 'o', long = "output", value_name = "PATH")]
    pub output: Option<std::path::PathBuf>,

    /// Sizes and wasted bytes only: read no file contents, run no rules.
    #[arg(long)]
    pub no_findings: bool,

    /// Rows in the largest-files and wasted-paths lists.
    #[arg(long, default_value_t = crate::core::analysis::DEFAULT_TOP)]
    pub top: usize,
}

#[derive(Args, Debug)]
pub struct CheckArgs {
    #[command(flatten)]
    pub image: ImageArgs,

    /// Configuration file (rules, [check] thresholds); default: .pyslim.toml here, if present.
    /// dive's .dive-ci here is read too.
    #[arg(long)]
    pub config: Option<std::path::PathBuf>,

    /// Lowest efficiency by dive's formula, as `dive --ci` gates it (0-1, or "disabled").
    #[arg(long, visible_alias = "lowest-dive-efficiency")]
    pub lowest_efficiency: Option<String>,

    /// Highest wasted bytes by dive's formula (20MB, 20MiB, bytes, or "disabled").
    #[arg(long, visible_alias = "highest-dive-wasted-bytes")]
    pub highest_wasted_bytes: Option<String>,

    /// Highest user wasted percent by dive's formula (0-1, 10%, or "disabled").
    #[arg(long, visible_alias = "highest-dive-user-wasted-percent")]
    pub highest_user_wasted_percent: Option<String>,

    /// Lowest efficiency as `analyze` shows it: bytes the image shows / bytes its layers
    /// carry (0-1, 90%, or "disabled"; default disabled).
    #[arg(long)]
    pub lowest_pyslim_efficiency: Option<String>,

    /// Highest bytes the layers carry that the image cannot see, as `analyze` shows them
    /// (20MB, or "disabled"; default disabled).
    #[arg(long)]
    pub highest_pyslim_wasted_bytes: Option<String>,

    /// Highest share of the layers' bytes the image cannot see, as `analyze` shows it (0-1,
    /// 10%, or "disabled"; default disabled).
    #[arg(long)]
    pub highest_pyslim_wasted_percent: Option<String>,

    /// Highest bytes the findings could reclaim (20MB, or "disabled").
    #[arg(long)]
    pub highest_bloat_bytes: Option<String>,

    /// Finding categories or rule ids that fail the check when present (comma-separated;
    /// "none" for none). An unknown name is an error.
    #[arg(long, value_delimiter = ',')]
    pub fail_on: Option<Vec<String>>,

    /// The Dockerfile that built the image, for --format sarif: each result is placed on the
    /// line that made its layer (default: ./Dockerfile, if present; else on the image).
    #[arg(short = 'f', long = "file", value_name = "DOCKERFILE")]
    pub dockerfile: Option<std::path::PathBuf>,

    /// Compare with this image (the one the branch started from; `demo` names the demo
    /// image): size change, new and fixed findings. Read with the same options as IMAGE.
    #[arg(long, value_name = "IMAGE")]
    pub baseline: Option<String>,

    /// With --baseline: the most the image may grow (20MB, 20MiB, 5%, or "disabled").
    #[arg(long, value_name = "SIZE", requires = "baseline")]
    pub highest_size_increase: Option<String>,

    /// Report format: text (default), json (schema pyslim.check/v1), markdown or sarif
    /// (SARIF 2.1.0, for code scanning).
    #[arg(long, value_enum, value_name = "FORMAT")]
    pub format: Option<OutputFormat>,

    /// The same as --format json.
    #[arg(long)]
    pub json: bool,

    /// Where the report goes (default stdout; `-` is stdout too). A file is replaced; the exit code is the verdict's either way.
    #[arg(short = 'o', long = "output", value_name = "PATH")]
    pub output: Option<std::path::PathBuf>,
}

#[derive(Args, Debug)]
pub struct CompareArgs {
    /// Two or more images (names, `docker save` tarballs, OCI layouts; prefixes as for analyze).
    /// `demo` names the demo image built into pyslim.
    #[arg(required_unless_present = "demo", num_args = 1..)]
    pub images: Vec<String>,

    /// Compare with the demo image built into pyslim too (as the first variant).
    #[arg(long)]
    pub demo: bool,

    /// Report format: text (default), json (schema pyslim.compare/v1), markdown or html.
    #[arg(long, value_enum, value_name = "FORMAT")]
    pub format: Option<OutputFormat>,

    /// The same as --format json.
    #[arg(long)]
    pub json: bool,

    /// Where the report goes (default stdout; `-` is stdout too). A file is replaced.
    #[arg(short = 'o', long = "output", value_name = "PATH")]
    pub output: Option<std::path::PathBuf>,

    /// Rows in each list (packages, files).
    #[arg(long, default_value_t = 20)]
    pub top: usize,

    /// Open the comparison in the terminal UI (variants side by side, differing files
    /// searchable).
    #[arg(long, conflicts_with_all = ["json", "format", "output"])]
    pub explore: bool,

    /// Theme for --explore.
    #[arg(long, env = "PYSLIM_THEME")]
    pub theme: Option<String>,

    #[command(flatten)]
    pub read: ReadArgs,

    /// Configuration file (rules); default: .pyslim.toml here, if present.
    #[arg(long)]
    pub config: Option<std::path::PathBuf>,
}
