//! The one way claw calls HTTP: one agent per call site configuration with a timeout always
//! set, one error mapping (status vs transport), bodies bounded, and error text redacted (a
//! URL may carry a token, as Telegram's `/bot<token>/` does).

use std::io::Read;
use std::time::Duration;

/// A body longer than this is cut: claw reads health answers and API replies, never bulk data.
const BODY_MAX: u64 = 4 * 1024 * 1024;

/// An HTTP client with a fixed timeout for each whole request.
#[derive(Clone)]
pub struct Client {
    agent: ureq::Agent,
}

/// What came back: any status, with the body (bounded) and the headers asked for later.
#[derive(Debug, Clone)]
pub struct Response {
    pub status: u16,
    pub body: String,
    /// `Retry-After` in seconds, when given as a number.
    pub retry_after: Option<u64>,
}

impl Response {
    pub fn ok(&self) -> bool {
        (200..300).contains(&self.status)
    }
    pub fn json(&self) -> Option<serde_json::Value> {
        serde_json::from_str(&self.body).ok()
    }
}

/// The request did not get an HTTP answer (refused, timed out, DNS, TLS). The text is
/// redacted and names no secret.
#[derive(Debug, Clone, PartialEq)]
pub struct TransportError {
    /// Named as ureq 2 named its kinds: `ConnectionFailed` (refused, unreachable, TLS), `Io`
    /// (every timeout lands here), `Dns`, `InvalidUrl`, ...
    pub kind: String,
    pub message: String,
}

impl std::fmt::Display for TransportError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.kind, self.message)
    }
}

impl std::error::Error for TransportError {}

impl Client {
    /// A client whose every request (connect, send and read) ends within `timeout`.
    pub fn new(timeout: Duration) -> Client {
        let config = ureq::Agent::config_builder()
            // One deadline for the whole request, body included (ureq 2's `timeout`).
            .timeout_global(Some(timeout.max(Duration::from_millis(1))))
            // Every status is a Response; only a missing answer is an error.
            .http_status_as_error(false)
            // As ureq 2 did: no proxy taken from the environment, at most 5 redirects.
            .proxy(None)
            .max_redirects(5)
            .user_agent(concat!("claw/", env!("CARGO_PKG_VERSION")))
            .build();
        Client {
            agent: config.into(),
        }
    }

    pub fn get(&self, url: &str, headers: &[(&str, &str)]) -> Result<Response, TransportError> {
        self.send("GET", url, headers, None)
    }

    pub fn post_json(
        &self,
        url: &str,
        headers: &[(&str, &str)],
        body: &serde_json::Value,
    ) -> Result<Response, TransportError> {
        let mut h = headers.to_vec();
        h.push(("Content-Type", "application/json"));
        self.send("POST", url, &h, Some(body.to_string().as_bytes()))
    }

    /// Any method; every status is a [`Response`], only a missing answer is an error.
    pub fn send(
        &self,
        method: &str,
        url: &str,
        headers: &[(&str, &str)],
        body: Option<&[u8]>,
    ) -> Result<Response, TransportError> {
        let res = match self.builder(method, url)? {
            // ureq 3 sends a GET's or DELETE's body only when forced to; ureq 2 always sent it.
            Builder::Bare(rb) => match body {
                Some(b) => with_headers(rb.force_send_body(), headers).send(b),
                None => with_headers(rb, headers).call(),
            },
            Builder::Body(rb) => {
                let rb = with_headers(rb, headers);
                match body {
                    Some(b) => rb.send(b),
                    None => rb.send_empty(),
                }
            }
        };
        let resp = res.map_err(transport_error)?;
        let status = resp.status().as_u16();
        let retry_after = resp
            .headers()
            .get("Retry-After")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok());
        let mut body = Vec::new();
        // Cut, not refused: a reader past the cap keeps what it read (`limit()` would error).
        let _ = resp
            .into_body()
            .into_reader()
            .take(BODY_MAX)
            .read_to_end(&mut body);
        Ok(Response {
            status,
            body: String::from_utf8_lossy(&body).into_owned(),
            retry_after,
        })
    }

    /// ureq 3 types a request by whether its method carries a body.
    fn builder(&self, method: &str, url: &str) -> Result<Builder, TransportError> {
        let a = &self.agent;
        Ok(match method.to_ascii_uppercase().as_str() {
            "GET" => Builder::Bare(a.get(url)),
            "DELETE" => Builder::Bare(a.delete(url)),
            "HEAD" => Builder::Bare(a.head(url)),
            "OPTIONS" => Builder::Bare(a.options(url)),
            "POST" => Builder::Body(a.post(url)),
            "PUT" => Builder::Body(a.put(url)),
            "PATCH" => Builder::Body(a.patch(url)),
            other => {
                return Err(TransportError {
                    kind: "InvalidUrl".into(),
                    message: format!("unsupported HTTP method {other:?}"),
                })
            }
        })
    }
}

enum Builder {
    Bare(ureq::RequestBuilder<ureq::typestate::WithoutBody>),
    Body(ureq::RequestBuilder<ureq::typestate::WithBody>),
}

/// Headers as given, names keeping their case on the wire (ureq 2 did; `header` lowercases).
fn with_headers<B>(
    mut rb: ureq::RequestBuilder<B>,
    headers: &[(&str, &str)],
) -> ureq::RequestBuilder<B> {
    for (k, v) in headers {
        rb = rb.header_raw(k, v.as_bytes());
    }
    rb
}

/// ureq 3's error as the transport error callers know, kinds named as ureq 2 named them
/// (`gateway::health` reads `Io` as "no answer in time").
fn transport_error(e: ureq::Error) -> TransportError {
    use std::io::ErrorKind as K;
    let kind = match &e {
        ureq::Error::Timeout(_) => "Io",
        ureq::Error::HostNotFound => "Dns",
        // std's resolver failure is an io::Error with no stable kind; its text is stable.
        ureq::Error::Io(io) if io.to_string().starts_with("failed to lookup address") => "Dns",
        ureq::Error::Io(io)
            if matches!(
                io.kind(),
                K::ConnectionRefused
                    | K::NetworkUnreachable
                    | K::HostUnreachable
                    | K::AddrNotAvailable
            ) =>
        {
            "ConnectionFailed"
        }
        ureq::Error::Io(_) => "Io",
        ureq::Error::ConnectionFailed
        | ureq::Error::Tls(_)
        | ureq::Error::Rustls(_)
        | ureq::Error::Pem(_)
        | ureq::Error::TlsRequired => "ConnectionFailed",
        ureq::Error::BadUri(s) if s.starts_with("unknown scheme") => "UnknownScheme",
        ureq::Error::BadUri(_) | ureq::Error::Http(_) => "InvalidUrl",
        ureq::Error::TooManyRedirects | ureq::Error::RedirectFailed => "TooManyRedirects",
        ureq::Error::Protocol(_) | ureq::Error::LargeResponseHeader(..) => "BadStatus",
        ureq::Error::InvalidProxyUrl | ureq::Error::ConnectProxyFailed(_) => "ProxyConnect",
        _ => "HTTP",
    };
    let text = match &e {
        // "<the URL> is missing scheme": the URL may hold a secret no pattern knows
        // (`user:pass@host` has no scheme for the credentials pattern to anchor on).
        ureq::Error::BadUri(s) => match s.rfind(" is missing ") {
            Some(i) => format!("bad uri: {}", &s[i + 4..]),
            None => e.to_string(),
        },
        _ => e.to_string(),
    };
    TransportError {
        kind: kind.into(),
        message: crate::redact::redact_text(&text),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;
    use std::net::TcpListener;

    /// One answer from a loopback listener; the request it read comes back on the channel.
    fn serve_once(reply: impl Into<Vec<u8>>) -> (String, std::sync::mpsc::Receiver<String>) {
        let reply = reply.into();
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/health", l.local_addr().unwrap());
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            if let Ok((mut s, _)) = l.accept() {
                let got = read_request(&mut s);
                let _ = tx.send(got);
                let _ = s.write_all(&reply);
            }
        });
        (url, rx)
    }

    /// Head and body (by Content-Length), however the client split its writes.
    fn read_request(s: &mut std::net::TcpStream) -> String {
        let mut got = Vec::new();
        let mut buf = [0u8; 4096];
        loop {
            let text = String::from_utf8_lossy(&got).into_owned();
            if let Some(end) = text.find("\r\n\r\n") {
                let len = text[..end]
                    .lines()
                    .filter_map(|l| l.split_once(':'))
                    .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
                    .and_then(|(_, v)| v.trim().parse::<usize>().ok())
                    .unwrap_or(0);
                if got.len() >= end + 4 + len {
                    return text;
                }
            }
            match std::io::Read::read(s, &mut buf) {
                Ok(0) | Err(_) => return String::from_utf8_lossy(&got).into_owned(),
                Ok(n) => got.extend_from_slice(&buf[..n]),
            }
        }
    }

    #[test]
    fn every_status_is_a_response() {
        let (url, _) = serve_once(
            "HTTP/1.1 429 Too Many Requests\r\nRetry-After: 7\r\nContent-Length: 2\r\n\r\nno",
        );
        let r = Client::new(Duration::from_secs(5)).get(&url, &[]).unwrap();
        assert_eq!(
            (r.status, r.retry_after, r.body.as_str()),
            (429, Some(7), "no")
        );
        assert!(!r.ok());
    }

    #[test]
    fn no_answer_is_a_transport_error_within_the_timeout() {
        // A listener that accepts and never answers.
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/", l.local_addr().unwrap());
        let t = std::time::Instant::now();
        let e = Client::new(Duration::from_millis(300))
            .get(&url, &[])
            .unwrap_err();
        assert!(t.elapsed() < Duration::from_secs(5));
        // `gateway::health` reads this kind as "no answer within the timeout".
        assert_eq!(e.kind, "Io", "{e}");
        drop(l);
    }

    #[test]
    fn a_refused_connection_is_connection_failed() {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/", l.local_addr().unwrap());
        drop(l);
        let e = Client::new(Duration::from_secs(5))
            .get(&url, &[])
            .unwrap_err();
        assert_eq!(e.kind, "ConnectionFailed", "{e}");
    }

    #[test]
    fn a_long_body_is_cut_at_the_cap() {
        let n = BODY_MAX as usize + 1000;
        let mut reply = format!("HTTP/1.1 200 OK\r\nContent-Length: {n}\r\n\r\n").into_bytes();
        reply.resize(reply.len() + n, b'a');
        let (url, _) = serve_once(reply);
        let r = Client::new(Duration::from_secs(20)).get(&url, &[]).unwrap();
        assert_eq!((r.status, r.body.len()), (200, BODY_MAX as usize));
    }

    #[test]
    fn any_method_sends_its_body_and_headers_as_given() {
        let (url, got) = serve_once("HTTP/1.1 204 No Content\r\n\r\n");
        let r = Client::new(Duration::from_secs(5))
            .send("get", &url, &[("X-Claw-Sink", "on")], Some(b"hello"))
            .unwrap();
        assert_eq!(r.status, 204);
        let req = got.recv_timeout(Duration::from_secs(5)).unwrap();
        assert!(req.starts_with("GET /health HTTP/1.1\r\n"), "{req}");
        assert!(req.contains("\r\nX-Claw-Sink: on\r\n"), "{req}");
        assert!(
            req.contains(concat!("claw/", env!("CARGO_PKG_VERSION"))),
            "{req}"
        );
        assert!(req.ends_with("\r\n\r\nhello"), "{req}");
    }

    #[test]
    fn error_text_is_redacted() {
        // ureq names a URL without a scheme in its error; claw does not repeat it.
        let e = Client::new(Duration::from_secs(5))
            .get("admin:hunter2pass@gateway.local", &[])
            .unwrap_err();
        assert_eq!(
            (e.kind.as_str(), e.message.as_str()),
            ("InvalidUrl", "bad uri: missing scheme")
        );
        // Any other text goes through the redactor.
        let token = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw";
        let e = transport_error(ureq::Error::Io(std::io::Error::other(format!(
            "reset by https://api.telegram.org/bot{token}/sendMessage"
        ))));
        assert_eq!(e.kind, "Io");
        assert!(e.message.contains("api.telegram.org/bot***/"), "{e}");
        assert!(!e.to_string().contains("AAHdqTcv"), "{e}");
    }
}
