//! `pyslim analyze` and `pyslim check`.

use std::io::Write;
use std::process::ExitCode;

use pyslim::cli::{AnalyzeArgs, CheckArgs};
use pyslim::config::{parse_ratio, parse_size};
use pyslim::core::examine;
use pyslim::{report, Result};

use super::common::{load_config, open_image};

pub(crate) fn run_analyze(args: AnalyzeArgs) -> Result<ExitCode> {
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

pub(crate) fn run_check(args: CheckArgs) -> Result<ExitCode> {
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
