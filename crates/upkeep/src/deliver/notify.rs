//! Notifications to a Slack-compatible incoming webhook. A notification that fails is logged
//! and never stops a bump; the webhook URL (a secret) is never printed.

use crate::detect::http_retry::HttpError;
use std::time::Duration;

/// How urgent a notification is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    /// A bump starts.
    Start,
    /// A bump succeeded.
    Success,
    /// A bump failed, or an upgrade was rolled back.
    Failure,
    /// A rollback failed too: someone must look now.
    Critical,
}

/// The notifier: `SLACK_WEBHOOK_URL`, else the config's URL, else nothing is sent.
pub struct Notifier {
    url: Option<String>,
}

impl Notifier {
    /// A notifier for the configured webhook, if any.
    pub fn new(config_url: Option<&str>) -> Notifier {
        let url = std::env::var("SLACK_WEBHOOK_URL")
            .ok()
            .filter(|url| !url.is_empty())
            .or_else(|| config_url.map(str::to_owned));
        Notifier { url }
    }

    /// Preflight: the webhook URL (never printed) is an http(s) URL, or none is set.
    pub fn check(&self) -> crate::deliver::verify::Check {
        use crate::deliver::verify::Check;
        let Some(url) = &self.url else {
            return Check::Skipped("no SLACK_WEBHOOK_URL or notify.slack_webhook_url".to_owned());
        };
        match reqwest::Url::parse(url) {
            Ok(url) if matches!(url.scheme(), "http" | "https") => {
                Check::Passed("webhook set".to_owned())
            }
            _ => Check::Failed("the Slack webhook is not an http(s) URL".to_owned()),
        }
    }

    /// Sends `text` at `level`.
    pub fn send(&self, level: Level, text: &str) {
        let Some(url) = &self.url else {
            return;
        };
        let prefix = match level {
            Level::Start => ":arrows_counterclockwise:",
            Level::Success => ":white_check_mark:",
            Level::Failure => ":warning:",
            Level::Critical => ":rotating_light: CRITICAL",
        };
        let body = serde_json::json!({ "text": format!("{prefix} {text}") });
        let sent = crate::tls::blocking_client_for(url)
            .timeout(Duration::from_secs(10))
            .build()
            .and_then(|client| client.post(url).json(&body).send())
            .and_then(reqwest::blocking::Response::error_for_status);
        if let Err(error) = sent {
            tracing::warn!("notification not delivered: {}", cause(&error, url));
        }
    }
}

/// Why a notification was not delivered, without the webhook URL (its path is the secret):
/// the status the webhook answered, else the host and what went wrong in connecting.
fn cause(error: &reqwest::Error, url: &str) -> String {
    let said = match error.status() {
        Some(status) => format!("the webhook answered {status}"),
        None => HttpError::of_request(url, error).to_string(),
    };
    // reqwest's words may quote the URL; only its host may be said.
    let path = reqwest::Url::parse(url)
        .map(|parsed| parsed.path().to_owned())
        .unwrap_or_default();
    let said = said.replace(url, "the webhook");
    match path.len() > 1 {
        true => said.replace(&path, "/…"),
        false => said,
    }
}
