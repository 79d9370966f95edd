//! The pyslim binary: parse the command line, run the command, print errors as one line,
//! set the exit code (0 ok, 2 error).

use std::io::{IsTerminal, Write};
use std::process::ExitCode;

use clap::Parser;

use pyslim::cli::{
    AnalyzeArgs, CheckArgs, Cli, Command, CompareArgs, ExploreArgs, ImageArgs, TrimArgs,
    TrimOutputArgs,
};
use pyslim::config::{self, parse_ratio, parse_size};
use pyslim::core::examine;
use pyslim::source::{Limits, OpenOptions, ReadOptions};
use pyslim::{demo, report, Image, Result};

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Analyze(args) => run_analyze(args),
        Command::Check(args) => run_check(args),
        Command::Explore(args) => run_explore(args),
        Command::Trim(args) => run_trim(args),
        Command::Compare(args) => run_compare(args),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("pyslim: {e}");
            ExitCode::from(2)
        }
    }
}

fn open_image(args: &ImageArgs, skip_contents: bool, progress: bool) -> Result<Image> {
    open_image_observed(
        args,
        skip_contents,
        progress,
        std::sync::Arc::new(pyslim::source::Quiet),
    )
}

fn open_image_observed(
    args: &ImageArgs,
    skip_contents: bool,
    progress: bool,
    observer: std::sync::Arc<dyn pyslim::source::LoadObserver>,
) -> Result<Image> {
    let Some(reference) = args.image.as_deref().filter(|_| !args.demo) else {
        return demo::image();
    };
    let opts = open_options(args, skip_contents, progress);
    pyslim::source::open_observed(reference, &opts, observer)
}

fn open_options(args: &ImageArgs, skip_contents: bool, progress: bool) -> OpenOptions {
    OpenOptions {
        cache: None,
        source: args.source,
        platform: args.platform.clone(),
        read: ReadOptions {
            verify_diff_ids: args.verify,
            skip_contents,
            limits: Limits {
                max_entries_per_layer: args.max_entries,
                max_path_bytes: args.max_path_bytes,
                max_path_depth: args.max_path_depth,
                max_json_bytes: args.max_json_bytes,
            },
        },
        progress: progress && std::io::stderr().is_terminal(),
    }
}

fn load_config(explicit: Option<&std::path::Path>) -> Result<config::UserConfig> {
    let here = std::env::current_dir().map_err(|e| pyslim::Error::io(".", e))?;
    config::load(explicit, &here)
}

fn run_analyze(args: AnalyzeArgs) -> Result<ExitCode> {
    let cfg = load_config(args.config.as_deref())?;
    let image = open_image(&args.image, args.no_findings, true)?;
    let rules = (!args.no_findings).then_some(&cfg.rules);
    let ex = examine(&image, rules, args.top);
    let out = if args.json {
        report::json::render(&image, &ex)
    } else {
        report::text::render(&image, &ex)
    };
    let mut stdout = std::io::stdout().lock();
    // A closed pipe (`| head`) is not an error worth a message.
    let _ = writeln!(stdout, "{out}");
    // The process ends here: freeing a million small allocations one by one only costs time.
    std::mem::forget((image, ex));
    Ok(ExitCode::SUCCESS)
}

fn run_check(args: CheckArgs) -> Result<ExitCode> {
    let cfg = load_config(args.config.as_deref())?;
    let mut check = cfg.check;
    let mut flagged = false;
    if let Some(v) = &args.lowest_efficiency {
        check.lowest_efficiency = parse_ratio("--lowest-efficiency", "value", v)?;
        flagged = true;
    }
    if let Some(v) = &args.highest_user_wasted_percent {
        check.highest_user_wasted_percent =
            parse_ratio("--highest-user-wasted-percent", "value", v)?;
        flagged = true;
    }
    if let Some(v) = &args.highest_wasted_bytes {
        check.highest_wasted_bytes = parse_size("--highest-wasted-bytes", "value", v)?;
        flagged = true;
    }
    if let Some(v) = &args.highest_bloat_bytes {
        check.highest_bloat_bytes = parse_size("--highest-bloat-bytes", "value", v)?;
        flagged = true;
    }
    if let Some(v) = &args.fail_on {
        check.fail_on = v
            .iter()
            .filter(|c| c.as_str() != "none" && !c.is_empty())
            .cloned()
            .collect();
        flagged = true;
    }
    if flagged {
        check.origin = format!("{} and flags", check.origin);
    }
    let image = open_image(&args.image, false, true)?;
    let ex = examine(
        &image,
        Some(&cfg.rules),
        pyslim::core::analysis::DEFAULT_TOP,
    );
    let verdict = report::check::evaluate(&check, &ex.analysis, &ex.findings);
    let out = if args.json {
        serde_json::to_string_pretty(&verdict).unwrap_or_default()
    } else {
        report::check::render(&verdict, &image.reference)
    };
    let mut stdout = std::io::stdout().lock();
    let _ = writeln!(stdout, "{out}");
    std::mem::forget((image, ex));
    Ok(if verdict.passed {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// The user's Dockerfile: the one named, else ./Dockerfile when there is one.
fn read_dockerfile(out: &TrimOutputArgs) -> Result<Option<(String, String)>> {
    let path = match &out.dockerfile {
        Some(p) => p.clone(),
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

struct Interactive<'a> {
    image: &'a ImageArgs,
    config: Option<&'a std::path::Path>,
    theme: Option<&'a str>,
    keymap: Option<&'a std::path::Path>,
    out: &'a TrimOutputArgs,
    start_trim: bool,
}

fn run_interactive(opts: Interactive) -> Result<ExitCode> {
    use pyslim::tui::{self, event, keymap::Keymap, theme::Theme};
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
    let user_keys = match opts.keymap {
        Some(p) => Some((
            p.display().to_string(),
            std::fs::read_to_string(p).map_err(|e| pyslim::Error::io(p, e))?,
        )),
        None => std::env::var_os("HOME")
            .map(|h| std::path::Path::new(&h).join(".config/pyslim/keymap.toml"))
            .filter(|p| p.is_file())
            .and_then(|p| {
                std::fs::read_to_string(&p)
                    .ok()
                    .map(|t| (p.display().to_string(), t))
            }),
    };
    let keymap = Keymap::load(user_keys.as_ref().map(|(n, t)| (n.as_str(), t.as_str())))?;
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
    let mut terminal = ratatui::try_init()
        .map_err(|e| pyslim::Error::Usage(format!("cannot open the terminal: {e}")))?;
    let _ = crossterm::execute!(std::io::stdout(), crossterm::event::EnableMouseCapture);
    event::spawn_terminal_reader(tx);
    let prefix = opts.out.output.clone();
    let start_trim = opts.start_trim;
    let result = tui::run(&mut terminal, rx, keymap, &theme, &label, move |app| {
        app.rules = cfg.rules;
        app.dockerfile = dockerfile;
        app.trim_prefix = prefix;
        if start_trim {
            app.update(tui::action::Action::Trim);
        }
    });
    let _ = crossterm::execute!(std::io::stdout(), crossterm::event::DisableMouseCapture);
    let _ = ratatui::try_restore();
    result.map(|_| ExitCode::SUCCESS)
}

fn run_explore(args: ExploreArgs) -> Result<ExitCode> {
    run_interactive(Interactive {
        image: &args.image,
        config: args.config.as_deref(),
        theme: args.theme.as_deref(),
        keymap: args.keymap.as_deref(),
        out: &args.out,
        start_trim: false,
    })
}

fn run_trim(args: TrimArgs) -> Result<ExitCode> {
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
    let input = decisions.display().to_string();
    let text = std::fs::read_to_string(decisions).map_err(|e| pyslim::Error::io(decisions, e))?;
    let file = pyslim::core::trim::DecisionsFile::parse(&input, &text)?;
    let cfg = load_config(args.config.as_deref())?;
    let dockerfile = read_dockerfile(&args.out)?;
    let image = open_image(&args.image, false, true)?;
    let ex = examine(
        &image,
        Some(&cfg.rules),
        pyslim::core::analysis::DEFAULT_TOP,
    );
    let mut session = pyslim::core::trim::Session::new(&ex);
    session.apply_file(&input, &file)?;
    let df = dockerfile.as_ref().map(|(n, t)| (n.as_str(), t.as_str()));
    let outputs = report::trim::build(&image, &ex, &cfg.rules, &session, df);
    let written = report::trim::write(std::path::Path::new(&args.out.output), &outputs)?;
    let p = session.projection(&ex);
    let mut stdout = std::io::stdout().lock();
    let _ = writeln!(
        stdout,
        "{}: ships {} now, {} with the accepted fixes ({} less)",
        image.reference,
        report::text::size(p.before),
        report::text::size(p.after),
        report::text::size(p.saved())
    );
    for w in written {
        let _ = writeln!(stdout, "wrote {}", w.display());
    }
    std::mem::forget((image, ex));
    Ok(ExitCode::SUCCESS)
}

fn run_compare(args: CompareArgs) -> Result<ExitCode> {
    let cfg = load_config(args.config.as_deref())?;
    // One cache for all: a layer two variants share (same diff_id) is read once.
    let cache = std::sync::Arc::new(pyslim::source::LayerCache::default());
    let mut images = Vec::new();
    for reference in &args.images {
        let opts = OpenOptions {
            cache: Some(cache.clone()),
            platform: args.platform.clone(),
            progress: std::io::stderr().is_terminal(),
            ..Default::default()
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
    let (tx, rx) = event::channel_pair();
    let mut terminal = ratatui::try_init()
        .map_err(|e| pyslim::Error::Usage(format!("cannot open the terminal: {e}")))?;
    event::spawn_terminal_reader(tx);
    let result = tui::run_compare(&mut terminal, rx, CompareApp::new(comparison), &theme);
    let _ = ratatui::try_restore();
    result.map(|_| ExitCode::SUCCESS)
}
