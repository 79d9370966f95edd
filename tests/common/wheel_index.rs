//! The e2e fixture's local PyPI index (bench/real-image.sh's `index/`), served on 127.0.0.1 for
//! the builds the end-to-end tests run, and stopped when dropped.

use std::path::Path;
use std::process::{Child, Command, Stdio};

/// The index server, killed when dropped.
pub struct WheelIndex(Child);

impl Drop for WheelIndex {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// As bench/real-image.sh serves it: wheels with a long Cache-Control, so pip caches them in
/// /root/.cache/pip as it does from PyPI (the trim build measures that cache).
const SERVER: &str = r#"
import functools, http.server, sys
class H(http.server.SimpleHTTPRequestHandler):
    def end_headers(self):
        if self.path.endswith(".whl"):
            self.send_header("Cache-Control", "public, max-age=31536000")
        super().end_headers()
http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])),
    functools.partial(H, directory=sys.argv[2])).serve_forever()
"#;

/// Serves `dir` on a free loopback port; returns the server and its port once it answers.
pub fn serve(dir: &Path) -> (WheelIndex, u16) {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = Command::new("python3")
        .args(["-c", SERVER, &port.to_string()])
        .arg(dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("python3 serves the wheel index");
    for _ in 0..100 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    (WheelIndex(child), port)
}
