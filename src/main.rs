//! The pyslim binary: parse the command line, run the command, print errors as one line,
//! set the exit code (0 ok, 1 a failed check, 2 error). The commands live in commands/.

mod commands;

use std::process::ExitCode;

use clap::Parser;

use pyslim::cli::{Cli, Command};

fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Err(e) = pyslim::temp_files::remove_on_signals() {
        // Not fatal: only temporary files left by an interrupt are at stake.
        eprintln!("pyslim: warning: {e}");
    }
    let result = match cli.command {
        Command::Analyze(args) => commands::run_analyze(args),
        Command::Check(args) => commands::run_check(args),
        Command::Explore(args) => commands::run_explore(args),
        Command::Trim(args) => commands::run_trim(args),
        Command::Compare(args) => commands::run_compare(args),
        Command::Propose(args) => commands::run_propose(args),
        Command::Cache(args) => commands::run_cache(args),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("pyslim: {e}");
            ExitCode::from(2)
        }
    }
}
