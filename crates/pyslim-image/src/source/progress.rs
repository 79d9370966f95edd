//! The progress bar for daemon exports: bytes and layers, on stderr, drawn only when stderr
//! is a terminal (indicatif hides itself otherwise).

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::daemon::ExportProgress;

struct Bar {
    bar: ProgressBar,
    layers_total: usize,
    layers_seen: usize,
}

impl ExportProgress for Bar {
    fn start(&mut self, total_bytes: u64, layers: usize) {
        self.layers_total = layers;
        self.bar.set_length(total_bytes.max(1));
        // The daemon prepares the whole export before it sends a byte (tens of seconds for
        // a big image): say so, and keep the clock moving.
        self.bar.set_message(format!(
            "0/{layers} layers read, waiting for the daemon to start the export"
        ));
        self.bar
            .enable_steady_tick(std::time::Duration::from_millis(250));
    }
    fn bytes(&mut self, so_far: u64) {
        if self.layers_seen == 0 && so_far > 0 && self.bar.position() == 0 {
            self.bar
                .set_message(format!("0/{} layers read", self.layers_total));
        }
        if so_far > self.bar.length().unwrap_or(0) {
            self.bar.set_length(so_far);
        }
        self.bar.set_position(so_far);
    }
    fn member(&mut self, _name: &str) {}
    fn layer_done(&mut self) {
        self.layers_seen += 1;
        self.bar.set_message(format!(
            "{}/{} layers read",
            self.layers_seen.min(self.layers_total),
            self.layers_total
        ));
    }
    fn finish(&mut self) {
        self.bar.finish_and_clear();
    }
}

struct Silent;

impl ExportProgress for Silent {
    fn start(&mut self, _: u64, _: usize) {}
    fn bytes(&mut self, _: u64) {}
    fn member(&mut self, _: &str) {}
    fn finish(&mut self) {}
}

pub fn export_progress(enabled: bool) -> Box<dyn ExportProgress> {
    if !enabled {
        return Box::new(Silent);
    }
    let bar = ProgressBar::with_draw_target(Some(0), ProgressDrawTarget::stderr());
    bar.set_style(
        ProgressStyle::with_template("exporting {bar:30} {bytes}/{total_bytes} {msg} ({elapsed})")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    Box::new(Bar {
        bar,
        layers_total: 0,
        layers_seen: 0,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bar_says_the_daemon_is_preparing_then_counts_bytes_and_layers_read() {
        let mut bar = Bar {
            bar: ProgressBar::with_draw_target(Some(0), ProgressDrawTarget::hidden()),
            layers_total: 0,
            layers_seen: 0,
        };
        bar.start(441_406_266, 5);
        assert_eq!(
            bar.bar.message(),
            "0/5 layers read, waiting for the daemon to start the export"
        );
        assert_eq!(bar.bar.length(), Some(441_406_266));
        bar.bytes(1 << 20);
        assert_eq!(bar.bar.message(), "0/5 layers read");
        bar.member("0a1b/layer.tar");
        assert_eq!(
            bar.bar.message(),
            "0/5 layers read",
            "a layer begun is not read"
        );
        bar.layer_done();
        bar.bytes(60 << 20);
        assert_eq!(bar.bar.message(), "1/5 layers read");
        assert_eq!(bar.bar.position(), 60 << 20);
    }
}
