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
/// output) the daemon. Returns the line the screen shows.
pub fn write_trimmed_image(
    app: &App,
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
    let image = app.image();
    let job = TrimJob::prepare(&Origin::of(image), path, opts, None).map_err(|e| e.to_string())?;
    let trimmed = job
        .write(image, app.examination(), plan)
        .map_err(|e| e.to_string())?;
    let after: u64 = trimmed.written.layers.iter().map(|l| l.content_bytes).sum();
    Ok(format!(
        "wrote {}: {} of files in layers, from {} (docker load -i {})",
        path.display(),
        crate::report::text::size(after),
        crate::report::text::size(plan.bytes_before()),
        path.display()
    ))
}
