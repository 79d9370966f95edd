//! A tiny HTTP server for what a real registry never does: bytes that are not the blob, a
//! schema 1 manifest, a stall, a 429; and the token service of the Bearer test.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::time::{Duration, Instant};

/// A tiny HTTP server with fixed answers by path, for what a real registry never does
/// (serve bytes that are not the blob, a schema 1 manifest, …). Stops when dropped.
pub struct FakeRegistry {
    pub port: u16,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

pub type Routes = std::collections::HashMap<String, (u16, String, Vec<u8>)>;

/// A request as the fake sees it: its path (with the query) and its Authorization header.
pub type Handler = dyn Fn(&str, Option<&str>) -> (u16, String, Vec<u8>) + Send + Sync;

impl FakeRegistry {
    /// Fixed answers by path; 404 with MANIFEST_UNKNOWN for anything else.
    pub fn serve(routes: Routes) -> FakeRegistry {
        FakeRegistry::serve_with(Box::new(move |path, _| {
            routes.get(path).cloned().unwrap_or((
                404,
                "application/json".into(),
                br#"{"errors":[{"code":"MANIFEST_UNKNOWN","message":"unknown"}]}"#.to_vec(),
            ))
        }))
    }

    /// Answers each request on its own thread with `handler`. A content type of
    /// `x-test/stall` sends half the body and then nothing for 5 s (a blob that stalls).
    pub fn serve_with(handler: Box<Handler>) -> FakeRegistry {
        let handler: std::sync::Arc<Handler> = std::sync::Arc::from(handler);
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().expect("addr").port();
        listener.set_nonblocking(true).expect("nonblocking");
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let stopping = stop.clone();
        let thread = std::thread::spawn(move || {
            let started = Instant::now();
            // Bounded: a test that forgets to drop it still ends it within a minute.
            while !stopping.load(std::sync::atomic::Ordering::Relaxed)
                && started.elapsed() < Duration::from_secs(60)
            {
                match listener.accept() {
                    Ok((stream, _)) => {
                        let handler = handler.clone();
                        std::thread::spawn(move || answer(stream, &*handler));
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(5)),
                }
            }
        });
        FakeRegistry {
            port,
            stop,
            thread: Some(thread),
        }
    }

    pub fn host(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }
}

impl Drop for FakeRegistry {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn answer(mut stream: TcpStream, handler: &Handler) {
    let _ = stream.set_nonblocking(false);
    let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") && head.len() < 64 * 1024 {
        match stream.read(&mut byte) {
            // A TLS hello: answer as Go's http server does, so https falls back to http.
            Ok(1) if head.is_empty() && byte[0] == 0x16 => {
                let _ = stream.write_all(b"HTTP/1.0 400 Bad Request\r\n\r\nClient sent an HTTP request to an HTTPS server.\n");
                return;
            }
            Ok(1) => head.push(byte[0]),
            _ => return,
        }
    }
    let head = String::from_utf8_lossy(&head);
    let path = head.split_whitespace().nth(1).unwrap_or("/").to_owned();
    let authorization = head.lines().find_map(|l| {
        let (k, v) = l.split_once(':')?;
        k.eq_ignore_ascii_case("authorization")
            .then(|| v.trim().to_owned())
    });
    let (status, content_type, body) = handler(&path, authorization.as_deref());
    let retry = if status == 429 {
        "Retry-After: 1\r\n"
    } else {
        ""
    };
    let reply = format!(
        "HTTP/1.1 {status} X\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\n{retry}Connection: close\r\n\r\n",
        body.len()
    );
    let _ = stream.write_all(reply.as_bytes());
    if content_type == "x-test/stall" {
        let _ = stream.write_all(&body[..body.len() / 2]);
        let _ = stream.flush();
        std::thread::sleep(Duration::from_secs(5));
        return;
    }
    let _ = stream.write_all(&body);
}
