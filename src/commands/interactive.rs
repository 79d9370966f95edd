//! `pyslim explore` and `pyslim trim`: the terminal UI, and trimming driven by a file.

use std::io::IsTerminal;
use std::process::ExitCode;

use pyslim::cli::{ExploreArgs, ImageArgs, TrimArgs, TrimOutputArgs};
use pyslim::core::examine;
use pyslim::Result;

use super::inputs::{load_config, open_image_observed, read_dockerfile};

struct Interactive<'a> {
    image: &'a ImageArgs,
    config: Option<&'a std::path::Path>,
    theme: Option<&'a str>,
    keymap: Option<&'a std::path::Path>,
    out: &'a TrimOutputArgs,
    start_trim: bool,
}

fn run_interactive(opts: Interactive) -> Result<ExitCode> {
    use pyslim::tui::{self, app::ExplorerOptions, event, theme::Theme};
    if !std::io::stdout().is_terminal() {
        return Err(pyslim::Error::Usage(
            "this needs a terminal; use `pyslim analyze` (or --json), or `pyslim trim --decisions FILE`, for scripts".into(),
        ));
    }
    let cfg = load_config(opts.config)?;
    let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
    let theme = Theme::load(
        opts.theme.or(cfg.theme.as_deref()).unwrap_or("dark"),
        no_color,
    )?;
    let keymap = tui::user_keymap(opts.keymap)?;
    let dockerfile = read_dockerfile(opts.out)?;
    let label = if opts.image.demo || opts.image.image.is_none() {
        "the demo image".to_owned()
    } else {
        opts.image.image.clone().unwrap_or_default()
    };
    let (tx, rx) = event::channel_pair();
    let image_args = opts.image.clone();
    let rules = cfg.rules.clone();
    let loader = tx.clone();
    let observer = std::sync::Arc::new(event::ChannelObserver(tx.clone()));
    std::thread::spawn(move || {
        let result = open_image_observed(&image_args, false, false, observer).map(|image| {
            let ex = examine(&image, Some(&rules), pyslim::core::analysis::DEFAULT_TOP);
            (image, ex)
        });
        let _ = loader.send(event::Event::Loaded(Box::new(result)));
    });
    let options = ExplorerOptions {
        rules: cfg.rules,
        dockerfile,
        trim_prefix: opts.out.output.clone(),
        trim_only: opts.start_trim,
    };
    let screen = tui::Screen::loading(&label, keymap, options);
    tui::run_in_terminal((tx, rx), screen, &theme).map(|_| ExitCode::SUCCESS)
}

pub(crate) fn run_explore(args: ExploreArgs) -> Result<ExitCode> {
    run_interactive(Interactive {
        image: &args.image,
        config: args.config.as_deref(),
        theme: args.theme.as_deref(),
        keymap: args.keymap.as_deref(),
        out: &args.out,
        start_trim: false,
    })
}

pub(crate) fn run_trim(args: TrimArgs) -> Result<ExitCode> {
    let Some(decisions) = &args.decisions else {
        return run_interactive(Interactive {
            image: &args.image,
            config: args.config.as_deref(),
            theme: args.theme.as_deref(),
            keymap: None,
            out: &args.out,
            start_trim: true,
        });
    };
    super::trim_image::run_decisions(&args, decisions)
}
