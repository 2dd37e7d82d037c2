//! GET with retries: the one place that decides what a transient failure is (429, 5xx, a
//! timeout) and how long to wait (the server's `Retry-After`, else an exponential backoff).

use anyhow::anyhow;
use reqwest::blocking::{Client, RequestBuilder, Response};
use std::time::Duration;

/// Attempts per request.
const ATTEMPTS: u32 = 3;

/// The longest wait between attempts, whatever `Retry-After` says.
const MAX_WAIT: Duration = Duration::from_secs(30);

/// A blocking HTTP client with upkeep's user agent and a request timeout.
pub fn client() -> anyhow::Result<Client> {
    Ok(crate::tls::blocking_client()
        .timeout(Duration::from_secs(20))
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
            Err(error) => return Err(anyhow!("cannot reach {url}: {}", error.without_url())),
        }
    }
}

/// 2 s, 4 s, … after the first, second, … attempt.
fn backoff(attempt: u32) -> Duration {
    Duration::from_secs(1 << attempt.min(4))
}
