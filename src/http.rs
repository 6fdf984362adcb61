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
    /// ureq's kind: `ConnectionFailed`, `Io` (timeouts land here), `Dns`, ...
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
        Client {
            agent: ureq::AgentBuilder::new()
                .timeout(timeout.max(Duration::from_millis(1)))
                .user_agent(concat!("claw/", env!("CARGO_PKG_VERSION")))
                .build(),
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
        let mut r = self.agent.request(method, url);
        for (k, v) in headers {
            r = r.set(k, v);
        }
        let res = match body {
            Some(b) => r.send_bytes(b),
            None => r.call(),
        };
        let resp = match res {
            Ok(resp) => resp,
            Err(ureq::Error::Status(_, resp)) => resp,
            Err(ureq::Error::Transport(t)) => {
                return Err(TransportError {
                    kind: format!("{:?}", t.kind()),
                    message: crate::redact::redact_text(
                        &t.message()
                            .map(str::to_string)
                            .unwrap_or_else(|| t.kind().to_string()),
                    ),
                })
            }
        };
        let status = resp.status();
        let retry_after = resp
            .header("Retry-After")
            .and_then(|v| v.trim().parse::<u64>().ok());
        let mut body = Vec::new();
        let _ = resp.into_reader().take(BODY_MAX).read_to_end(&mut body);
        Ok(Response {
            status,
            body: String::from_utf8_lossy(&body).into_owned(),
            retry_after,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;
    use std::net::TcpListener;

    /// One answer from a loopback listener.
    fn serve_once(reply: &'static str) -> String {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/health", l.local_addr().unwrap());
        std::thread::spawn(move || {
            if let Ok((mut s, _)) = l.accept() {
                let mut buf = [0u8; 4096];
                let _ = std::io::Read::read(&mut s, &mut buf);
                let _ = s.write_all(reply.as_bytes());
            }
        });
        url
    }

    #[test]
    fn every_status_is_a_response() {
        let url = serve_once(
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
        assert!(!e.kind.is_empty(), "{e}");
        drop(l);
    }
}
