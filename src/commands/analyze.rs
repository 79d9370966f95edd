//! `pyslim analyze` and `pyslim check`.

use std::process::ExitCode;

use pyslim::cli::{AnalyzeArgs, CheckArgs, OutputFormat};
use pyslim::config::validate_fail_on;
use pyslim::report::output;
use pyslim::{report, Result};

use super::inputs::{load_config, open_examined, read_dockerfile_at};

/// What `analyze` writes.
const ANALYZE_FORMATS: [OutputFormat; 4] = [
    OutputFormat::Text,
    OutputFormat::Json,
    OutputFormat::Markdown,
    OutputFormat::Html,
];

/// What `check` writes.
const CHECK_FORMATS: [OutputFormat; 4] = [
    OutputFormat::Text,
    OutputFormat::Json,
    OutputFormat::Markdown,
    OutputFormat::Sarif,
];

pub(crate) fn run_analyze(args: AnalyzeArgs) -> Result<ExitCode> {
    // Checked before the image is read: a wrong flag costs nothing.
    let format = output::choose("analyze", args.format, args.json, &ANALYZE_FORMATS)?;
    output::check_target(args.output.as_deref())?;
    let cfg = load_config(args.config.as_deref())?;
    let rules = (!args.no_findings).then_some(&cfg.rules);
    let (image, ex) = open_examined(&args.image, rules, args.top)?;
    let out = match format {
        OutputFormat::Json => report::json::render(&image, &ex),
        OutputFormat::Markdown => report::markdown::analysis(&image, &ex),
        OutputFormat::Html => report::html::analysis(&image, &ex),
        _ => report::text::render(&image, &ex),
    };
    output::write(args.output.as_deref(), &out)?;
    // The process ends here: freeing a million small allocations one by one only costs time.
    std::mem::forget((image, ex));
    Ok(ExitCode::SUCCESS)
}

pub(crate) fn run_check(args: CheckArgs) -> Result<ExitCode> {
    let format = output::choose("check", args.format, args.json, &CHECK_FORMATS)?;
    output::check_target(args.output.as_deref())?;
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
    let growth = args
        .highest_size_increase
        .as_deref()
        .map(report::baseline::Growth::parse)
        .transpose()?;
    if flagged {
        check.origin = format!("{} and flags", check.origin);
    }
    let (image, ex) = open_examined(
        &args.image,
        Some(&cfg.rules),
        pyslim::core::analysis::DEFAULT_TOP,
    )?;
    let mut verdict = report::check::evaluate(&check, &ex.analysis, &ex.findings);
    if let Some(reference) = &args.baseline {
        let base_args = pyslim::cli::ImageArgs {
            demo: reference == "demo",
            image: Some(reference.clone()),
            read: args.image.read.clone(),
        };
        let (base_image, base_ex) = open_examined(
            &base_args,
            Some(&cfg.rules),
            pyslim::core::analysis::DEFAULT_TOP,
        )?;
        let baseline = report::baseline::compare(reference, &base_ex, &ex);
        verdict = verdict.with_baseline(baseline, growth);
        std::mem::forget((base_image, base_ex));
    }
    let out = match format {
        OutputFormat::Json => report::json::render_check(&verdict, &image.reference),
        OutputFormat::Markdown => report::markdown::check(&verdict, &image, &ex),
        OutputFormat::Sarif => {
            let dockerfile = read_dockerfile_at(args.dockerfile.as_deref())?;
            // The path as given (code scanning resolves it from the repository root).
            let uri = args
                .dockerfile
                .as_ref()
                .map(|p| p.display().to_string())
                .unwrap_or_else(|| "Dockerfile".into());
            let placed = dockerfile
                .as_ref()
                .map(|(_, text)| report::sarif::DockerfileRef { uri: &uri, text });
            report::sarif::render(&verdict, &image, &ex, &cfg.rules, placed)
        }
        _ => report::check::render(&verdict, &image.reference),
    };
    output::write(args.output.as_deref(), &out)?;
    std::mem::forget((image, ex));
    Ok(if verdict.passed {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
