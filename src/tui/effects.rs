//! What the explorer asks for outside itself, and the code that does it. The screens do no
//! I/O: they set an `Effect`, and the loop (run.rs) hands it to `carry_out` and reports the
//! result back to the screen. Writing the trimmed image (`write_trimmed_image`) is the one
//! place the TUI talks to Docker and makes temporary files.

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

/// Writes the trimmed image the trim screen asked for: from the image's archive or layout,
/// the demo image, or (saved first, beside the output) the daemon. Returns the line the
/// screen shows.
pub fn write_trimmed_image(
    app: &App,
    plan: &TrimPlan,
    path: &std::path::Path,
) -> std::result::Result<String, String> {
    use crate::core::image::SourceKind;
    use crate::source::writer::trimmed::{write_trimmed, TrimmedOptions};
    let opts = TrimmedOptions {
        format: crate::source::writer::ArchiveFormat::DockerLegacy,
        squash: false,
        tag: None,
        platform: None,
        force: false,
        limits: Default::default(),
    };
    let image = app.image();
    // The daemon's export, saved to a hidden, uniquely named file that the guard removes
    // whatever happens (also when the save itself fails).
    let mut saved = None;
    let source = match image.source {
        SourceKind::Demo => None,
        SourceKind::Docker => {
            let client = crate::docker::Client::connect().map_err(|e| e.to_string())?;
            let (guard, file) =
                crate::partial::Partial::create(path, "source").map_err(|e| e.to_string())?;
            let at = guard.path().to_owned();
            saved = Some(guard);
            client
                .save(&image.reference, file, &at)
                .map_err(|e| e.to_string())?;
            Some(at)
        }
        _ => Some(std::path::PathBuf::from(&image.reference)),
    };
    let result = write_trimmed(
        source.as_deref(),
        image,
        app.examination(),
        plan,
        &opts,
        path,
    );
    drop(saved);
    let trimmed = result.map_err(|e| e.to_string())?;
    let after: u64 = trimmed.written.layers.iter().map(|l| l.content_bytes).sum();
    Ok(format!(
        "wrote {}: {} of files in layers, from {} (docker load -i {})",
        path.display(),
        crate::report::text::size(after),
        crate::report::text::size(plan.bytes_before()),
        path.display()
    ))
}
