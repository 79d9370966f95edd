//! `pyslim analyze` and `pyslim check`.

use std::io::Write;
use std::process::ExitCode;

use pyslim::cli::{AnalyzeArgs, CheckArgs};
use pyslim::config::validate_fail_on;
use pyslim::{report, Result};

use super::inputs::{load_config, open_examined};

pub(crate) fn run_analyze(args: AnalyzeArgs) -> Result<ExitCode> {
    let cfg = load_config(args.config.as_deref())?;
    let rules = (!args.no_findings).then_some(&cfg.rules);
    let (image, ex) = open_examined(&args.image, rules, args.top)?;
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
    let flags: [(&str, &Option<String>); 7] = [
        ("lowest-efficiency", &args.lowest_efficiency),
        (
            "highest-user-wasted-percent",
            &args.highest_user_wasted_percent,
        ),
        ("highest-wasted-bytes", &args.highest_wasted_bytes),
        ("lowest-pyslim-efficiency", &args.lowest_pyslim_efficiency),
        (
            "highest-pyslim-wasted-percent",
            &args.highest_pyslim_wasted_percent,
        ),
        (
            "highest-pyslim-wasted-bytes",
            &args.highest_pyslim_wasted_bytes,
        ),
        ("highest-bloat-bytes", &args.highest_bloat_bytes),
    ];
    let mut flagged = false;
    for (key, value) in flags {
        if let Some(v) = value {
            check.set(&format!("--{key}"), key, &toml::Value::String(v.clone()))?;
            flagged = true;
        }
    }
    if let Some(v) = &args.fail_on {
        // Checked before the image is read: a typo is an error, not a gate that passes.
        check.fail_on = validate_fail_on("--fail-on", v, &cfg.rules)?;
        flagged = true;
    }
    if flagged {
        check.origin = format!("{} and flags", check.origin);
    }
    let (image, ex) = open_examined(
        &args.image,
        Some(&cfg.rules),
        pyslim::core::analysis::DEFAULT_TOP,
    )?;
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
