//! What the explorer asks for outside itself, and the code that does it. The screens do no
//! I/O: they set an `Effect`, and the loop (run.rs) hands it to `carry_out` and reports the
//! result back to the screen. The trimmed image is written by the trim job the command runs
//! too (`write_trimmed_image`).

use crate::core::trim_image::TrimPlan;
use crate::report::trim::TrimOutputs;

use super::app::App;

/// What the explorer asks its loop to do outside itself (the app does no I/O).
pub enum Effect {
    WriteTrim(Box<TrimOutputs>, String),
    /// Write the trimmed image to this path, as planned (checked for safety already).
    WriteTrimmedImage(Box<TrimPlan>, std::path::PathBuf),
}

impl Effect {
    /// Takes long enough that the screen should show it is under way first.
    pub fn is_slow(&self) -> bool {
        matches!(self, Effect::WriteTrimmedImage(..))
    }
}

/// Does what the explorer asked and tells it how it went.
pub fn carry_out(effect: Effect, app: &mut App) {
    match effect {
        Effect::WriteTrim(outputs, prefix) => {
            let result = crate::report::trim::write(std::path::Path::new(&prefix), &outputs)
                .map_err(|e| e.to_string());
            app.trim_written(result);
        }
        Effect::WriteTrimmedImage(plan, path) => {
            let result = write_trimmed_image(app, &plan, &path);
            app.trim_image_written(result);
        }
    }
}

/// Writes the trimmed image the trim screen asked for, through the trim job the command
/// runs too: from the image's archive or layout, the demo image, or (saved first, beside the
/// output) the daemon. The screen checked `plan` on what the read showed; the job plans once
/// more after reading again the ELF files a stream left unchecked, so the explorer refuses
/// exactly what `pyslim trim --decisions` refuses. Returns the line the screen shows.
pub fn write_trimmed_image(
    app: &mut App,
    plan: &TrimPlan,
    path: &std::path::Path,
) -> std::result::Result<String, String> {
    use crate::source::writer::trimmed::TrimmedOptions;
    use crate::trim_job::{Origin, TrimJob};
    let opts = TrimmedOptions {
        format: crate::source::writer::ArchiveFormat::DockerLegacy,
        squash: false,
        tag: None,
        platform: None,
        force: false,
        limits: Default::default(),
    };
    let text = |e: crate::Error| e.to_string();
    let (image, ex, rules, session) = app.trim_job_inputs();
    let mut job = TrimJob::prepare(&Origin::of(image), path, opts, None).map_err(text)?;
    let plan = match session {
        Some(session) => job.plan(image, ex, session, rules).map_err(text)?,
        None => plan.clone(),
    };
    let trimmed = job.write(image, ex, &plan).map_err(text)?;
    let after: u64 = trimmed.written.layers.iter().map(|l| l.content_bytes).sum();
    Ok(format!(
        "wrote {}: {} of files in layers, from {} (docker load -i {})",
        path.display(),
        crate::report::text::size(after),
        crate::report::text::size(plan.bytes_before()),
        path.display()
    ))
}
