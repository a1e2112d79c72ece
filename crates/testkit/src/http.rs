//! A tiny HTTP/1.1 server on 127.0.0.1 for fetch tests: each request answered by a handler
//! on its own thread, with counts of requests and of the most in flight at once.

use std::io::{Read as _, Write as _};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// What the server answers to one request.
#[derive(Debug, Clone)]
pub struct Reply {
    /// The HTTP status.
    pub status: u16,
    /// Headers besides `Content-Length` and `Connection: close`.
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Vec<u8>,
    /// Wait this long before answering.
    pub delay: Duration,
    /// Announce the whole body but send only its first half, then close.
    pub cut_body: bool,
}

impl Reply {
    /// 200 with `body`.
    pub fn ok(body: impl Into<Vec<u8>>) -> Reply {
        Reply::status(200, body)
    }
    /// `status` with `body`.
    pub fn status(status: u16, body: impl Into<Vec<u8>>) -> Reply {
        Reply {
            status,
            headers: Vec::new(),
            body: body.into(),
            delay: Duration::ZERO,
            cut_body: false,
        }
    }
    /// Adds a header.
    pub fn header(mut self, name: &str, value: &str) -> Reply {
        self.headers.push((name.into(), value.into()));
        self
    }
    /// Waits `delay` before answering.
    pub fn delayed(mut self, delay: Duration) -> Reply {
        self.delay = delay;
        self
    }
    /// Announces the whole body but sends only its first half, then closes.
    pub fn cut(mut self) -> Reply {
        self.cut_body = true;
        self
    }
}

/// A running server; it lives as long as the test process.
#[derive(Clone)]
pub struct Server {
    /// Where it listens (127.0.0.1, a free port).
    pub addr: SocketAddr,
    /// Request targets (path and query) in the order they arrived.
    pub requests: Arc<Mutex<Vec<String>>>,
    in_flight: Arc<AtomicUsize>,
    max_in_flight: Arc<AtomicUsize>,
}

impl Server {
    /// `host:port`, what `--fetch-allow-host` takes.
    pub fn host(&self) -> String {
        self.addr.to_string()
    }
    /// `http://host:port` followed by `path`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }
    /// How many requests arrived so far.
    pub fn request_count(&self) -> usize {
        self.requests.lock().unwrap().len()
    }
    /// The most requests that were being answered at the same time.
    pub fn max_in_flight(&self) -> usize {
        self.max_in_flight.load(Ordering::SeqCst)
    }
}

/// Serves `handler`'s replies (it gets the request target: path and query).
pub fn serve(handler: impl Fn(&str) -> Reply + Send + Sync + 'static) -> Server {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let server = Server {
        addr: listener.local_addr().unwrap(),
        requests: Arc::default(),
        in_flight: Arc::default(),
        max_in_flight: Arc::default(),
    };
    let handler = Arc::new(handler);
    let s = server.clone();
    std::thread::spawn(move || {
        for sock in listener.incoming() {
            let Ok(sock) = sock else { return };
            let (s, handler) = (s.clone(), handler.clone());
            std::thread::spawn(move || answer(sock, &s, &*handler));
        }
    });
    server
}

/// Serves the files of `dir` by name (404 for anything else).
pub fn serve_dir(dir: PathBuf) -> Server {
    serve(move |target| {
        let name = target.split('?').next().unwrap_or("").trim_start_matches('/');
        match std::fs::read(dir.join(name)) {
            Ok(body) if !name.contains("..") => Reply::ok(body),
            _ => Reply::status(404, "<Error><Code>NoSuchKey</Code></Error>"),
        }
    })
}

fn answer(mut sock: TcpStream, s: &Server, handler: &(dyn Fn(&str) -> Reply + Send + Sync)) {
    let mut head = Vec::new();
    let mut buf = [0u8; 4096];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        match sock.read(&mut buf) {
            Ok(0) | Err(_) => return,
            Ok(k) => head.extend_from_slice(&buf[..k]),
        }
    }
    let line = String::from_utf8_lossy(&head).lines().next().unwrap_or("").to_owned();
    let target = line.split(' ').nth(1).unwrap_or("").to_owned();
    s.requests.lock().unwrap().push(target.clone());
    let now = s.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
    s.max_in_flight.fetch_max(now, Ordering::SeqCst);
    let reply = handler(&target);
    std::thread::sleep(reply.delay);
    let mut out = format!(
        "HTTP/1.1 {} X\r\nContent-Length: {}\r\nConnection: close\r\n",
        reply.status,
        reply.body.len()
    );
    for (k, v) in &reply.headers {
        out.push_str(&format!("{k}: {v}\r\n"));
    }
    out.push_str("\r\n");
    let body = if reply.cut_body {
        &reply.body[..reply.body.len() / 2]
    } else {
        &reply.body[..]
    };
    s.in_flight.fetch_sub(1, Ordering::SeqCst);
    let _ = sock.write_all(out.as_bytes());
    let _ = sock.write_all(body);
    let _ = sock.flush();
}
