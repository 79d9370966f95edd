//! `pyslim compare`: variants side by side, as text, JSON or the terminal view.

use std::io::{IsTerminal, Write};
use std::process::ExitCode;

use pyslim::cli::CompareArgs;
use pyslim::core::examine;
use pyslim::source::OpenOptions;
use pyslim::{demo, report, Result};

use super::inputs::{load_config, open_options};

pub(crate) fn run_compare(args: CompareArgs) -> Result<ExitCode> {
    let cfg = load_config(args.config.as_deref())?;
    // One cache for all: a layer two variants share (same diff_id) is read once.
    let cache = std::sync::Arc::new(pyslim::source::LayerCache::default());
    let references: Vec<&str> = args
        .demo
        .then_some("demo")
        .into_iter()
        .chain(args.images.iter().map(String::as_str))
        .collect();
    if references.len() < 2 {
        return Err(pyslim::Error::Usage(
            "compare needs two or more images (or one and --demo)".into(),
        ));
    }
    let mut images = Vec::new();
    for &reference in &references {
        let opts = OpenOptions {
            cache: Some(cache.clone()),
            ..open_options(&args.read, false, true)
        };
        let image = if reference == "demo" {
            demo::image()?
        } else {
            pyslim::open(reference, &opts)?
        };
        let ex = examine(
            &image,
            Some(&cfg.rules),
            pyslim::core::analysis::DEFAULT_TOP,
        );
        images.push((image, ex));
    }
    let pairs: Vec<_> = images.iter().map(|(i, e)| (i, e)).collect();
    if args.explore {
        // The view searches every differing path, not only the first few hundred.
        let comparison = pyslim::core::compare::compare(&pairs, usize::MAX);
        return explore_comparison(comparison, args.theme.as_deref().or(cfg.theme.as_deref()));
    }
    let comparison = pyslim::core::compare::compare(&pairs, args.top.max(500));
    let out = if args.json {
        serde_json::to_string_pretty(&serde_json::json!({
            "schema": "pyslim.compare/v1",
            "layers_read": cache.reads(),
            "layers_shared": cache.hits(),
            "comparison": comparison,
        }))
        .unwrap_or_default()
    } else {
        let mut text = report::compare::render(&comparison, args.top);
        text.push_str(&format!(
            "\n{} layers read, {} shared between images and read once\n",
            cache.reads(),
            cache.hits()
        ));
        text
    };
    let mut stdout = std::io::stdout().lock();
    let _ = writeln!(stdout, "{out}");
    std::mem::forget(images);
    Ok(ExitCode::SUCCESS)
}

fn explore_comparison(
    comparison: pyslim::core::compare::Comparison,
    theme: Option<&str>,
) -> Result<ExitCode> {
    use pyslim::tui::{self, compare::CompareApp, event, theme::Theme};
    if !std::io::stdout().is_terminal() {
        return Err(pyslim::Error::Usage(
            "--explore needs a terminal; use --json for scripts".into(),
        ));
    }
    let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
    let theme = Theme::load(theme.unwrap_or("dark"), no_color)?;
    let app = CompareApp::with_keymap(comparison, tui::user_keymap(None)?);
    tui::run_in_terminal(event::channel_pair(), tui::Screen::compare(app), &theme)
        .map(|_| ExitCode::SUCCESS)
}
