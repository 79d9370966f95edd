//! The progress bar of a registry read: bytes of layer blobs and layers done, drawn on
//! stderr only when asked and stderr is a terminal (indicatif hides itself otherwise).
//! Shared by the threads that download layers side by side.

use std::sync::atomic::{AtomicUsize, Ordering};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

pub struct Progress {
    bar: ProgressBar,
    /// Drawn from `start` on, once there is something to count.
    enabled: bool,
    layers_total: AtomicUsize,
    layers_done: AtomicUsize,
}

impl Progress {
    pub fn new(enabled: bool) -> Progress {
        let bar = ProgressBar::with_draw_target(Some(0), ProgressDrawTarget::hidden());
        bar.set_style(
            ProgressStyle::with_template(
                "pulling {bar:30} {bytes}/{total_bytes} {msg} ({bytes_per_sec}, {elapsed})",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        Progress {
            bar,
            enabled,
            layers_total: AtomicUsize::new(0),
            layers_done: AtomicUsize::new(0),
        }
    }

    /// The manifest is read: this many layers of about this many bytes will come.
    pub fn start(&self, total_bytes: u64, layers: usize) {
        self.layers_total.store(layers, Ordering::Relaxed);
        self.bar.set_length(total_bytes.max(1));
        self.bar.set_message(format!("0/{layers} layers"));
        if self.enabled {
            self.bar.set_draw_target(ProgressDrawTarget::stderr());
        }
        self.bar
            .enable_steady_tick(std::time::Duration::from_millis(250));
    }

    pub fn bytes(&self, n: u64) {
        self.bar.inc(n);
    }

    pub fn layer_done(&self) {
        let done = self.layers_done.fetch_add(1, Ordering::Relaxed) + 1;
        let total = self.layers_total.load(Ordering::Relaxed);
        self.bar
            .set_message(format!("{}/{total} layers", done.min(total)));
    }

    pub fn finish(&self) {
        self.bar.finish_and_clear();
    }

    #[cfg(test)]
    fn message(&self) -> String {
        self.bar.message()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bar_counts_bytes_and_layers_from_several_threads() {
        let progress = Progress::new(false);
        progress.start(3_000, 3);
        std::thread::scope(|s| {
            for _ in 0..3 {
                s.spawn(|| {
                    progress.bytes(1_000);
                    progress.layer_done();
                });
            }
        });
        assert_eq!(progress.bar.position(), 3_000);
        assert_eq!(progress.message(), "3/3 layers");
    }
}
