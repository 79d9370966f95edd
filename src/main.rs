//! The pyslim binary: parse the command line, run the command, print errors as one line,
//! set the exit code (0 ok, 2 error).

use std::io::{IsTerminal, Write};
use std::process::ExitCode;

use clap::Parser;

use pyslim::cli::{AnalyzeArgs, Cli, Command, ImageArgs};
use pyslim::core::analysis::analyze;
use pyslim::core::tree::Tree;
use pyslim::source::{Limits, OpenOptions, ReadOptions};
use pyslim::{demo, report, Image, Result};

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Analyze(args) => run_analyze(args),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("pyslim: {e}");
            ExitCode::from(2)
        }
    }
}

fn open_image(args: &ImageArgs) -> Result<Image> {
    let Some(reference) = args.image.as_deref().filter(|_| !args.demo) else {
        return demo::image();
    };
    let opts = OpenOptions {
        source: args.source,
        platform: args.platform.clone(),
        read: ReadOptions {
            verify_diff_ids: args.verify,
            limits: Limits {
                max_entries_per_layer: args.max_entries,
                max_path_bytes: args.max_path_bytes,
                max_path_depth: args.max_path_depth,
                max_json_bytes: args.max_json_bytes,
            },
        },
        progress: std::io::stderr().is_terminal(),
    };
    pyslim::open(reference, &opts)
}

fn run_analyze(args: AnalyzeArgs) -> Result<ExitCode> {
    let image = open_image(&args.image)?;
    let tree = Tree::build(&image.layers);
    let analysis = analyze(&image, &tree, args.top);
    let mut warnings = image.warnings.clone();
    warnings.extend(tree.warnings.iter().cloned());
    let out = if args.json {
        report::json::render(&image, &analysis, &warnings)
    } else {
        report::text::render(&image, &analysis, &warnings)
    };
    let mut stdout = std::io::stdout().lock();
    // A closed pipe (`| head`) is not an error worth a message.
    let _ = writeln!(stdout, "{out}");
    Ok(ExitCode::SUCCESS)
}
