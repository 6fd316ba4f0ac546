//! A small HTTP/1.1 keep-alive client: POST a JSON body, read a `Content-Length` response.
//!
//! Why hand-written: the load generator shares two cores with the server it measures, so it
//! must cost little; and it only ever talks to a yibao server on loopback, which (axum) always
//! answers with a Content-Length. Anything else is reported as an error, never guessed at.

use crate::sign::Signer;
use std::net::SocketAddr;
use std::sync::Mutex;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Largest response accepted: far above any answer of the interface.
const RESPONSE_MAX: usize = 16 * 1024 * 1024;

/// Longest wait for one answer: a server that stops answering is a failure, not a hang.
pub const ANSWER_TIMEOUT: Duration = Duration::from_secs(30);

/// Why a request got no answer. Either way its outcome on the server is unknown.
#[derive(Debug)]
pub enum HttpError {
    Io(std::io::Error),
    Protocol(String),
    Timeout,
}

impl std::fmt::Display for HttpError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            HttpError::Io(e) => write!(f, "i/o: {e}"),
            HttpError::Protocol(m) => write!(f, "protocol: {m}"),
            HttpError::Timeout => write!(f, "no answer within {} s", ANSWER_TIMEOUT.as_secs()),
        }
    }
}

impl From<std::io::Error> for HttpError {
    fn from(e: std::io::Error) -> HttpError {
        HttpError::Io(e)
    }
}

/// One keep-alive connection and its read buffer.
pub struct Conn {
    stream: TcpStream,
    buf: Vec<u8>,
}

impl Conn {
    async fn connect(addr: SocketAddr) -> Result<Conn, HttpError> {
        let stream = TcpStream::connect(addr).await?;
        stream.set_nodelay(true)?;
        Ok(Conn { stream, buf: Vec::with_capacity(8192) })
    }

    /// Sends one POST and returns the status and body of its answer.
    async fn post(&mut self, head: &[u8], extra: &str, body: &[u8]) -> Result<(u16, Vec<u8>), HttpError> {
        let mut req = Vec::with_capacity(head.len() + extra.len() + 32 + body.len());
        req.extend_from_slice(head);
        req.extend_from_slice(extra.as_bytes());
        req.extend_from_slice(format!("Content-Length: {}\r\n\r\n", body.len()).as_bytes());
        req.extend_from_slice(body);
        self.stream.write_all(&req).await?;
        self.read_response().await
    }

    async fn read_response(&mut self) -> Result<(u16, Vec<u8>), HttpError> {
        let head_end = loop {
            if let Some(i) = find(&self.buf, b"\r\n\r\n") {
                break i + 4;
            }
            self.fill().await?;
        };
        let (status, len) = parse_head(&self.buf[..head_end])?;
        if len > RESPONSE_MAX {
            return Err(HttpError::Protocol(format!("response of {len} bytes")));
        }
        while self.buf.len() < head_end + len {
            self.fill().await?;
        }
        let body = self.buf[head_end..head_end + len].to_vec();
        self.buf.drain(..head_end + len);
        Ok((status, body))
    }

    async fn fill(&mut self) -> Result<(), HttpError> {
        let mut chunk = [0u8; 16 * 1024];
        let n = self.stream.read(&mut chunk).await?;
        if n == 0 {
            return Err(HttpError::Io(std::io::Error::new(std::io::ErrorKind::UnexpectedEof, "connection closed")));
        }
        if self.buf.len() + n > RESPONSE_MAX + 64 * 1024 {
            return Err(HttpError::Protocol("response too large".into()));
        }
        self.buf.extend_from_slice(&chunk[..n]);
        Ok(())
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// Status code and Content-Length of a response head.
fn parse_head(head: &[u8]) -> Result<(u16, usize), HttpError> {
    let text = std::str::from_utf8(head).map_err(|_| HttpError::Protocol("response head is not UTF-8".into()))?;
    let mut lines = text.split("\r\n");
    let status_line = lines.next().unwrap_or_default();
    let status = status_line
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse::<u16>().ok())
        .ok_or_else(|| HttpError::Protocol(format!("bad status line {status_line:?}")))?;
    let mut len = None;
    for l in lines {
        if let Some((k, v)) = l.split_once(':') {
            if k.trim().eq_ignore_ascii_case("content-length") {
                len = v.trim().parse::<usize>().ok();
            } else if k.trim().eq_ignore_ascii_case("transfer-encoding") {
                return Err(HttpError::Protocol("chunked responses are not supported".into()));
            }
        }
    }
    let len = len.ok_or_else(|| HttpError::Protocol("response without Content-Length".into()))?;
    Ok((status, len))
}

/// Idle connections to one server, reused across requests.
pub struct Client {
    addr: SocketAddr,
    head: Vec<u8>,
    idle: Mutex<Vec<Conn>>,
    /// Signs every request when the server requires x-tif headers.
    signer: Option<Signer>,
    /// The first refusal by authentication or rate limit (HTTP 401, 403, 429): the load stops
    /// there, since every request after it would be refused too.
    refusal: Mutex<Option<String>>,
}

impl Client {
    pub fn new(addr: SocketAddr, path: &str) -> Client {
        let head = format!("POST {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\n").into_bytes();
        Client { addr, head, idle: Mutex::new(Vec::new()), signer: None, refusal: Mutex::new(None) }
    }

    pub fn signed(mut self, signer: Option<Signer>) -> Client {
        self.signer = signer;
        self
    }

    /// The first refusal by authentication or rate limit, if any.
    pub fn refusal(&self) -> Option<String> {
        self.refusal.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// POSTs `body` on an idle connection (or a new one). A connection that failed is dropped.
    pub async fn post(&self, body: &[u8]) -> Result<(u16, Vec<u8>), HttpError> {
        let pooled = self.idle.lock().unwrap_or_else(|p| p.into_inner()).pop();
        let mut conn = match pooled {
            Some(c) => c,
            None => Conn::connect(self.addr).await?,
        };
        let extra = self.signer.as_ref().map(|s| s.headers(body)).unwrap_or_default();
        let r = tokio::time::timeout(ANSWER_TIMEOUT, conn.post(&self.head, &extra, body)).await;
        match r {
            Ok(Ok(answer)) => {
                if matches!(answer.0, 401 | 403 | 429) {
                    let mut first = self.refusal.lock().unwrap_or_else(|p| p.into_inner());
                    if first.is_none() {
                        let text = String::from_utf8_lossy(&answer.1);
                        *first = Some(format!("HTTP {}: {}", answer.0, text.chars().take(300).collect::<String>()));
                    }
                }
                self.idle.lock().unwrap_or_else(|p| p.into_inner()).push(conn);
                Ok(answer)
            }
            Ok(Err(e)) => Err(e),
            Err(_) => Err(HttpError::Timeout),
        }
    }

    /// Forgets idle connections (after the server restarted they are all dead).
    pub fn reset(&self) {
        self.idle.lock().unwrap_or_else(|p| p.into_inner()).clear();
    }

    /// GET `path`; true on a 200. Used to wait for a server to come up.
    pub async fn healthy(&self, path: &str) -> bool {
        let Ok(Ok(mut s)) = tokio::time::timeout(Duration::from_secs(1), TcpStream::connect(self.addr)).await else {
            return false;
        };
        let req = format!("GET {path} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n", self.addr);
        if s.write_all(req.as_bytes()).await.is_err() {
            return false;
        }
        let mut c = Conn { stream: s, buf: Vec::new() };
        matches!(tokio::time::timeout(Duration::from_secs(2), c.read_response()).await, Ok(Ok((200, _))))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn heads_parse() {
        let h = b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 42\r\n\r\n";
        assert_eq!(parse_head(h).unwrap(), (200, 42));
        assert!(parse_head(b"HTTP/1.1 200 OK\r\n\r\n").is_err());
        assert!(parse_head(b"garbage\r\n\r\n").is_err());
        assert!(parse_head(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n").is_err());
    }
}
