//! A keep-alive HTTP/1.1 client connection: just enough HTTP for the harness (requests
//! with a `Content-Length` body, answers with a `Content-Length` body).

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::{SocketAddr, TcpStream};

/// A keep-alive HTTP/1.1 connection to one server.
pub struct Conn {
    addr: SocketAddr,
    reader: BufReader<TcpStream>,
    request: Vec<u8>,
    line: String,
    body: Vec<u8>,
}

impl Conn {
    /// Connects (panics when the server does not answer: the harness fails loudly).
    pub fn open(addr: SocketAddr) -> Self {
        let s = TcpStream::connect(addr).expect("connect to the server");
        s.set_nodelay(true).expect("TCP_NODELAY");
        Self {
            addr,
            reader: BufReader::new(s),
            request: Vec::with_capacity(512),
            line: String::new(),
            body: Vec::new(),
        }
    }

    /// Sends one request and reads its answer: the status and the body (borrowed until the
    /// next call). Reconnects once when the server closed the connection.
    pub fn send(&mut self, method: &str, path: &str, key: &str, body: &str) -> (u16, &str) {
        self.request.clear();
        write!(
            self.request,
            "{method} {path} HTTP/1.1\r\nHost: {}\r\nApi-Key: {key}\r\n",
            self.addr
        )
        .expect("write to a Vec");
        if !body.is_empty() {
            write!(
                self.request,
                "Content-Type: application/json\r\nContent-Length: {}\r\n",
                body.len()
            )
            .expect("write to a Vec");
        }
        self.request.extend_from_slice(b"\r\n");
        self.request.extend_from_slice(body.as_bytes());
        if self.reader.get_mut().write_all(&self.request).is_err() {
            *self = Self::open(self.addr);
            self.reader
                .get_mut()
                .write_all(&self.request)
                .expect("write the request");
        }
        self.line.clear();
        self.reader.read_line(&mut self.line).expect("status line");
        let status = self
            .line
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        let mut len = 0usize;
        loop {
            self.line.clear();
            self.reader.read_line(&mut self.line).expect("header line");
            let l = self.line.trim_end();
            if l.is_empty() {
                break;
            }
            if let Some((name, value)) = l.split_once(':')
                && name.eq_ignore_ascii_case("content-length")
            {
                len = value.trim().parse().unwrap_or(0);
            }
        }
        self.body.resize(len, 0);
        self.reader.read_exact(&mut self.body).expect("body");
        (status, std::str::from_utf8(&self.body).unwrap_or(""))
    }

    /// [`Conn::send`] that panics unless the answer is 2xx; returns the body.
    pub fn must(&mut self, method: &str, path: &str, key: &str, body: &str) -> String {
        let (s, b) = self.send(method, path, key, body);
        assert!((200..300).contains(&s), "{method} {path}: {s} {b}");
        b.to_owned()
    }
}
