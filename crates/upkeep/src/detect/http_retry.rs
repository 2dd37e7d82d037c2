//! GET with retries: the one place that decides what a transient failure is (429, 5xx, a
//! timeout waiting for an answer) and how long to wait (the server's `Retry-After`, else an
//! exponential backoff), and that says why a request failed: the host and the cause (an HTTP
//! status, DNS, TLS, a refused connection, a timeout), as an [`HttpError`].
//!
//! A host that cannot be connected to (its name does not resolve, nothing listens, the TLS
//! handshake fails, the connection does not open in time) is not transient: the request is
//! not retried, and the failure is kept for the run and given to every later request to that
//! host without asking again. While the first request to a host is on its way, the others
//! wait for its outcome, so an offline run fails each host once.

use reqwest::blocking::{Client, RequestBuilder, Response};
use serde::Serialize;
use std::collections::HashMap;
use std::error::Error as StdError;
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

/// How long one request may take.
pub const TIMEOUT: Duration = Duration::from_secs(20);

/// How long opening a connection (name lookup, TCP, TLS) may take.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// Attempts per request.
const ATTEMPTS: u32 = 3;

/// The longest wait between attempts, whatever `Retry-After` says.
const MAX_WAIT: Duration = Duration::from_secs(30);

/// The HTTP client of one run's lookups: upkeep's user agent, timeouts, retries of what is
/// transient, and the hosts found unreachable. Clones share all of it.
#[derive(Clone)]
pub struct Http {
    client: Client,
    hosts: Arc<Hosts>,
}

impl Http {
    /// A client with upkeep's user agent, a request timeout and a connect timeout.
    pub fn new() -> anyhow::Result<Http> {
        let client = crate::tls::blocking_client()
            .timeout(TIMEOUT)
            .connect_timeout(CONNECT_TIMEOUT)
            .user_agent(concat!("upkeep/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Ok(Http::with(client))
    }

    /// Wraps `client`.
    fn with(client: Client) -> Http {
        Http {
            client,
            hosts: Arc::new(Hosts::default()),
        }
    }

    /// GETs `url`, letting `prepare` add headers, and retries transient failures. Any other
    /// answer, success or not, is returned for the caller to judge. A host this run could not
    /// connect to fails at once with the same error.
    pub fn get(
        &self,
        url: &str,
        prepare: impl Fn(RequestBuilder) -> RequestBuilder,
    ) -> anyhow::Result<Response> {
        let origin = origin_of(url);
        let mut probe = self.hosts.enter(&origin)?;
        let mut attempt = 0;
        loop {
            attempt += 1;
            let last = attempt >= ATTEMPTS;
            match prepare(self.client.get(url)).send() {
                Ok(response) => {
                    self.hosts.settle(&origin, probe.take(), Reach::Reachable);
                    let status = response.status();
                    let transient = status == reqwest::StatusCode::TOO_MANY_REQUESTS
                        || status.is_server_error();
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
                // A server that was reached but was slow may answer the next time.
                Err(error) if error.is_timeout() && !error.is_connect() && !last => {
                    std::thread::sleep(backoff(attempt));
                }
                Err(error) => {
                    let failure = HttpError::of_request(url, &error);
                    let reach = match error.is_connect() {
                        true => Reach::Unreachable(failure.clone()),
                        false => Reach::Reachable,
                    };
                    self.hosts.settle(&origin, probe.take(), reach);
                    return Err(failure.into());
                }
            }
        }
    }
}

/// What this run knows of each origin (`scheme://host:port`).
#[derive(Default)]
struct Hosts {
    known: Mutex<HashMap<String, Reach>>,
    /// Signalled when a probe settles.
    settled: Condvar,
}

/// What is known of one origin.
#[derive(Debug, Clone)]
enum Reach {
    /// The first request is on its way; the others wait for it.
    Probing,
    /// It answered (whatever it said).
    Reachable,
    /// It could not be connected to: every request gets this failure.
    Unreachable(HttpError),
}

/// The first request to an origin; dropped without settling (a panic), it lets the next
/// request probe instead.
struct Probe<'a> {
    hosts: &'a Hosts,
    origin: String,
}

impl Drop for Probe<'_> {
    fn drop(&mut self) {
        let mut known = self.hosts.known.lock().unwrap_or_else(|e| e.into_inner());
        if matches!(known.get(&self.origin), Some(Reach::Probing)) {
            known.remove(&self.origin);
        }
        self.hosts.settled.notify_all();
    }
}

impl Hosts {
    /// Before a request to `origin`: its failure when it is known to be unreachable; else
    /// `Some` probe when this is the first request (the others wait until it settles).
    fn enter(&self, origin: &str) -> Result<Option<Probe<'_>>, HttpError> {
        let mut known = self.known.lock().unwrap_or_else(|e| e.into_inner());
        loop {
            match known.get(origin) {
                None => {
                    known.insert(origin.to_owned(), Reach::Probing);
                    return Ok(Some(Probe {
                        hosts: self,
                        origin: origin.to_owned(),
                    }));
                }
                Some(Reach::Probing) => {
                    known = self.settled.wait(known).unwrap_or_else(|e| e.into_inner());
                }
                Some(Reach::Reachable) => return Ok(None),
                Some(Reach::Unreachable(failure)) => return Err(failure.clone()),
            }
        }
    }

    /// Records what a request learnt of `origin`. An unreachable origin stays so for the run;
    /// one learnt reachable by a probe lets the waiting requests go.
    fn settle(&self, origin: &str, probe: Option<Probe<'_>>, reach: Reach) {
        let mut known = self.known.lock().unwrap_or_else(|e| e.into_inner());
        if probe.is_some() || matches!(reach, Reach::Unreachable(_)) {
            known.insert(origin.to_owned(), reach);
        }
        drop(known);
        // Dropping the probe wakes the requests waiting for it.
        drop(probe);
    }
}

/// `scheme://host:port` of a URL (the port the scheme implies when none is written), or the
/// URL itself when it does not parse.
fn origin_of(url: &str) -> String {
    match reqwest::Url::parse(url) {
        Ok(parsed) => format!(
            "{}://{}:{}",
            parsed.scheme(),
            parsed.host_str().unwrap_or_default(),
            parsed.port_or_known_default().unwrap_or_default()
        ),
        Err(_) => url.to_owned(),
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
            Cause::Timeout => write!(f, "{host}: {detail}"),
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
        let detail = match cause {
            Cause::Timeout if error.is_connect() => format!(
                "cannot connect within {} s (name lookup, TCP or TLS)",
                CONNECT_TIMEOUT.as_secs()
            ),
            Cause::Timeout => format!("no answer within {} s", TIMEOUT.as_secs()),
            _ => innermost,
        };
        HttpError {
            host: host_of(url),
            cause,
            detail,
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
    use super::{Cause, Http, HttpError, host_of, origin_of};
    use std::io::{Read, Write};
    use std::net::TcpListener;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
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

    /// A resolver for which no name exists, counting the names it was asked.
    struct NoSuchHost(AtomicUsize);

    impl reqwest::dns::Resolve for NoSuchHost {
        fn resolve(&self, _: reqwest::dns::Name) -> reqwest::dns::Resolving {
            self.0.fetch_add(1, Ordering::SeqCst);
            Box::pin(async { Err("Name or service not known".into()) })
        }
    }

    #[test]
    fn a_name_that_does_not_resolve_is_looked_up_once_per_run() {
        let resolver = Arc::new(NoSuchHost(AtomicUsize::new(0)));
        let client = crate::tls::blocking_client()
            .dns_resolver(Arc::clone(&resolver))
            .timeout(Duration::from_secs(5))
            .build()
            .unwrap();
        let http = Http::with(client);
        // Eight lookups at once, as `outdated` makes them.
        let failures: Vec<HttpError> = std::thread::scope(|scope| {
            let asked: Vec<_> = (0..8)
                .map(|i| {
                    let http = &http;
                    scope.spawn(move || {
                        let url = format!("https://registry.offline.example/v2/app{i}/tags/list");
                        let error = http.get(&url, |request| request).unwrap_err();
                        error.downcast::<HttpError>().unwrap()
                    })
                })
                .collect();
            asked.into_iter().map(|t| t.join().unwrap()).collect()
        });
        assert_eq!(
            resolver.0.load(Ordering::SeqCst),
            1,
            "asked once, not retried"
        );
        assert!(
            failures.iter().all(|f| f.cause == Cause::Dns),
            "{failures:?}"
        );
        assert!(
            failures
                .iter()
                .all(|f| f.to_string() == failures[0].to_string()),
            "{failures:?}"
        );
        // Another host is asked on its own; the same host on another port too.
        let _ = http.get("https://charts.offline.example/index.yaml", |r| r);
        let _ = http.get("https://registry.offline.example:5000/v2/", |r| r);
        assert_eq!(resolver.0.load(Ordering::SeqCst), 3);
    }

    #[test]
    fn refusals_are_reported_and_a_host_that_answers_is_asked_each_time() {
        let closed = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = closed.local_addr().unwrap().port();
        drop(closed);
        let http = Http::new().unwrap();
        for path in ["a", "b", "c"] {
            let error = http
                .get(
                    &format!("http://127.0.0.1:{port}/v2/{path}/tags/list"),
                    |r| r,
                )
                .unwrap_err();
            assert_eq!(
                error.downcast_ref::<HttpError>().unwrap().cause,
                Cause::Refused
            );
        }

        // A host that answers (with an error status) is reachable: each request is sent.
        let server = TcpListener::bind("127.0.0.1:0").unwrap();
        let at = server.local_addr().unwrap();
        let answered = Arc::new(AtomicUsize::new(0));
        let count = Arc::clone(&answered);
        std::thread::spawn(move || {
            for stream in server.incoming() {
                let Ok(mut stream) = stream else { continue };
                let mut request = [0; 1024];
                let _ = stream.read(&mut request);
                count.fetch_add(1, Ordering::SeqCst);
                let _ = stream.write_all(
                    b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
                );
            }
        });
        for path in ["a", "b", "c"] {
            let response = http
                .get(&format!("http://{at}/v2/{path}/tags/list"), |r| r)
                .unwrap();
            assert_eq!(response.status(), 404);
        }
        assert_eq!(answered.load(Ordering::SeqCst), 3);
    }

    #[test]
    fn origins_name_scheme_host_and_port() {
        assert_eq!(origin_of("https://ghcr.io/v2/x"), "https://ghcr.io:443");
        assert_eq!(origin_of("http://127.0.0.1:9/v2/"), "http://127.0.0.1:9");
        assert_ne!(
            origin_of("https://127.0.0.1:9/v2/"),
            origin_of("http://127.0.0.1:9/v2/")
        );
        assert_eq!(origin_of("not a url"), "not a url");
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
