//! The pyslim binary: parse the command line, run the command, print errors as one line,
//! set the exit code (0 ok, 2 error).

use std::io::{IsTerminal, Write};
use std::process::ExitCode;

use clap::Parser;

use pyslim::cli::{AnalyzeArgs, CheckArgs, Cli, Command, ExploreArgs, ImageArgs};
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
    let Some(reference) = args.image.as_deref().filter(|_| !args.demo) else {
        return demo::image();
    };
    let opts = OpenOptions {
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
    };
    pyslim::open(reference, &opts)
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

fn run_explore(args: ExploreArgs) -> Result<ExitCode> {
    use pyslim::tui::{self, event, keymap::Keymap, theme::Theme};
    if !std::io::stdout().is_terminal() {
        return Err(pyslim::Error::Usage(
            "explore needs a terminal; use `pyslim analyze` (or --json) for scripts".into(),
        ));
    }
    let cfg = load_config(args.config.as_deref())?;
    let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
    let theme = Theme::load(&args.theme, no_color)?;
    let user_keys = match &args.keymap {
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
    let label = if args.image.demo || args.image.image.is_none() {
        "the demo image".to_owned()
    } else {
        args.image.image.clone().unwrap_or_default()
    };
    let (tx, rx) = event::channel_pair();
    let image_args = args.image.clone();
    let rules = cfg.rules.clone();
    let loader = tx.clone();
    std::thread::spawn(move || {
        let result = open_image(&image_args, false, false).map(|image| {
            let ex = examine(&image, Some(&rules), pyslim::core::analysis::DEFAULT_TOP);
            (image, ex)
        });
        let _ = loader.send(event::Event::Loaded(Box::new(result)));
    });
    let mut terminal = ratatui::try_init()
        .map_err(|e| pyslim::Error::Usage(format!("cannot open the terminal: {e}")))?;
    event::spawn_terminal_reader(tx);
    let result = tui::run(&mut terminal, rx, keymap, &theme, &label);
    let _ = ratatui::try_restore();
    result.map(|_| ExitCode::SUCCESS)
}
