//! GET with retries: the one place that decides what a transient failure is (429, 5xx, a
//! timeout) and how long to wait (the server's `Retry-After`, else an exponential backoff),
//! and that says why a request failed: the host and the cause (an HTTP status, DNS, TLS, a
//! refused connection, a timeout), as an [`HttpError`].

use reqwest::blocking::{Client, RequestBuilder, Response};
use serde::Serialize;
use std::error::Error as StdError;
use std::time::Duration;

/// How long one request may take.
pub const TIMEOUT: Duration = Duration::from_secs(20);

/// Attempts per request.
const ATTEMPTS: u32 = 3;

/// The longest wait between attempts, whatever `Retry-After` says.
const MAX_WAIT: Duration = Duration::from_secs(30);

/// A blocking HTTP client with upkeep's user agent and a request timeout.
pub fn client() -> anyhow::Result<Client> {
    Ok(crate::tls::blocking_client()
        .timeout(TIMEOUT)
        .user_agent(concat!("upkeep/", env!("CARGO_PKG_VERSION")))
        .build()?)
}

/// GETs `url`, letting `prepare` add headers, and retries transient failures. Any other
/// answer, success or not, is returned for the caller to judge.
pub fn get(
    http: &Client,
    url: &str,
    prepare: impl Fn(RequestBuilder) -> RequestBuilder,
) -> anyhow::Result<Response> {
    let mut attempt = 0;
    loop {
        attempt += 1;
        let last = attempt >= ATTEMPTS;
        match prepare(http.get(url)).send() {
            Ok(response) => {
                let status = response.status();
                let transient =
                    status == reqwest::StatusCode::TOO_MANY_REQUESTS || status.is_server_error();
                if !transient || last {
                    return Ok(response);
                }
                let wait = response
                    .headers()
                    .get("retry-after")
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.trim().parse::<u64>().ok())
                    .map_or_else(|| backoff(attempt), Duration::from_secs);
                std::thread::sleep(wait.min(MAX_WAIT));
            }
            Err(error) if error.is_timeout() && !last => std::thread::sleep(backoff(attempt)),
            Err(error) => return Err(HttpError::of_request(url, &error).into()),
        }
    }
}

/// What went wrong with a request, in a word (the `cause` of `outdated`'s errors).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Cause {
    /// The server answered with an error status.
    Status,
    /// The server wants credentials that are not there, or refused them.
    Auth,
    /// The host name does not resolve.
    Dns,
    /// The TLS handshake failed (certificate, protocol, or not TLS at all).
    Tls,
    /// Nothing listens at the address.
    Refused,
    /// No answer in time.
    Timeout,
    /// Another failure to connect (unreachable network, reset).
    Connect,
    /// The answer could not be read as what was asked for.
    Answer,
    /// Anything else.
    Other,
}

/// A failed request: the host asked (as `host[:port]`), the cause, and the detail.
#[derive(Debug, Clone)]
pub struct HttpError {
    /// The host asked.
    pub host: String,
    /// What went wrong.
    pub cause: Cause,
    /// The detail: the status and URL, or the innermost error's words.
    pub detail: String,
}

impl std::fmt::Display for HttpError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let host = &self.host;
        let detail = &self.detail;
        match self.cause {
            Cause::Status | Cause::Auth | Cause::Answer | Cause::Other => {
                write!(f, "{host}: {detail}")
            }
            Cause::Dns => write!(f, "{host}: DNS lookup failed ({detail})"),
            Cause::Tls => write!(f, "{host}: TLS handshake failed ({detail})"),
            Cause::Refused => write!(f, "{host}: connection refused"),
            Cause::Timeout => write!(f, "{host}: no answer within {} s", TIMEOUT.as_secs()),
            Cause::Connect => write!(f, "{host}: cannot connect ({detail})"),
        }
    }
}

impl StdError for HttpError {}

impl HttpError {
    /// `url` answered `status`, which the caller does not accept.
    pub fn status(url: &str, status: reqwest::StatusCode) -> HttpError {
        HttpError {
            host: host_of(url),
            cause: Cause::Status,
            detail: format!("answered {status} ({url})"),
        }
    }

    /// A failure about `url` that is not the transport's (an answer that does not parse, no
    /// credentials for a host that asks for them).
    pub fn other(url: &str, cause: Cause, detail: impl Into<String>) -> HttpError {
        HttpError {
            host: host_of(url),
            cause,
            detail: detail.into(),
        }
    }

    /// Why the request to `url` failed, from reqwest's error and its causes.
    pub fn of_request(url: &str, error: &reqwest::Error) -> HttpError {
        let mut chain: Vec<&(dyn StdError + 'static)> = Vec::new();
        let mut next = error.source();
        while let Some(current) = next {
            chain.push(current);
            next = current.source();
        }
        let innermost = chain
            .last()
            .map_or_else(|| error.to_string(), ToString::to_string);
        let said = |words: &str| chain.iter().any(|e| e.to_string().starts_with(words));
        let refused = chain.iter().any(|e| {
            e.downcast_ref::<std::io::Error>()
                .is_some_and(|io| io.kind() == std::io::ErrorKind::ConnectionRefused)
        });
        let cause = if error.is_timeout() {
            Cause::Timeout
        } else if refused {
            Cause::Refused
        } else if said("dns error") {
            Cause::Dns
        } else if error.is_connect() && url.starts_with("https://") && !said("tcp connect error") {
            // Connected, then the handshake failed: the TLS layer's error.
            Cause::Tls
        } else if error.is_connect() {
            Cause::Connect
        } else {
            Cause::Other
        };
        HttpError {
            host: host_of(url),
            cause,
            detail: innermost,
        }
    }
}

/// `host[:port]` of a URL, or the URL itself when it has none.
pub fn host_of(url: &str) -> String {
    match reqwest::Url::parse(url) {
        Ok(parsed) => match (parsed.host_str(), parsed.port()) {
            (Some(host), Some(port)) => format!("{host}:{port}"),
            (Some(host), None) => host.to_owned(),
            _ => url.to_owned(),
        },
        Err(_) => url.to_owned(),
    }
}

/// 2 s, 4 s, … after the first, second, … attempt.
fn backoff(attempt: u32) -> Duration {
    Duration::from_secs(1 << attempt.min(4))
}

#[cfg(test)]
mod tests {
    use super::{Cause, HttpError, host_of};
    use std::io::{Read, Write};
    use std::net::TcpListener;
    use std::time::Duration;

    /// Why one GET of `url` failed, with a short timeout.
    fn failure(url: &str) -> HttpError {
        let client = crate::tls::blocking_client()
            .timeout(Duration::from_millis(300))
            .build()
            .unwrap();
        let error = client.get(url).send().unwrap_err();
        HttpError::of_request(url, &error)
    }

    #[test]
    fn each_way_of_failing_is_named_with_its_host() {
        let closed = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = closed.local_addr().unwrap().port();
        drop(closed);
        let refused = failure(&format!("http://127.0.0.1:{port}/v2/"));
        assert_eq!(refused.cause, Cause::Refused);
        assert_eq!(
            refused.to_string(),
            format!("127.0.0.1:{port}: connection refused")
        );

        let dns = failure("https://registry.nowhere.invalid/v2/");
        assert_eq!(dns.cause, Cause::Dns, "{dns}");
        assert!(
            dns.to_string()
                .starts_with("registry.nowhere.invalid: DNS lookup failed (")
        );

        // A plain HTTP server where TLS is expected.
        let plain = TcpListener::bind("127.0.0.1:0").unwrap();
        let at = plain.local_addr().unwrap();
        std::thread::spawn(move || {
            if let Ok((mut stream, _)) = plain.accept() {
                let mut hello = [0; 512];
                let _ = stream.read(&mut hello);
                let _ = stream.write_all(b"HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n");
            }
        });
        let tls = failure(&format!("https://{at}/v2/"));
        assert_eq!(tls.cause, Cause::Tls, "{tls}");
        assert!(tls.to_string().contains("TLS handshake failed"), "{tls}");

        // A server that accepts and never answers.
        let silent = TcpListener::bind("127.0.0.1:0").unwrap();
        let at = silent.local_addr().unwrap();
        let held = std::thread::spawn(move || silent.accept().map(|(stream, _)| stream));
        let timeout = failure(&format!("http://{at}/v2/"));
        assert_eq!(timeout.cause, Cause::Timeout, "{timeout}");
        assert_eq!(timeout.to_string(), format!("{at}: no answer within 20 s"));
        drop(held.join());

        let status = HttpError::status(
            "https://ghcr.io/v2/x/tags/list?n=1000",
            reqwest::StatusCode::SERVICE_UNAVAILABLE,
        );
        assert_eq!(
            status.to_string(),
            "ghcr.io: answered 503 Service Unavailable (https://ghcr.io/v2/x/tags/list?n=1000)"
        );
    }

    #[test]
    fn hosts_keep_their_port() {
        assert_eq!(host_of("https://10.0.20.10:5000/v2/"), "10.0.20.10:5000");
        assert_eq!(
            host_of("https://registry-1.docker.io/v2/"),
            "registry-1.docker.io"
        );
        assert_eq!(host_of("not a url"), "not a url");
    }
}
