//! Notifications to a Slack-compatible incoming webhook. A notification that fails is logged
//! and never stops a bump; the webhook URL (a secret) is never printed. Each is sent on a
//! thread of its own while the bump goes on (a webhook across the internet answers in a few
//! hundred milliseconds); the next one, and the end of the run, wait for it, so they arrive in
//! order and none is lost.

use crate::detect::http_retry::HttpError;
use std::sync::Mutex;
use std::thread::JoinHandle;
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
    /// The notification on its way.
    sending: Mutex<Option<JoinHandle<()>>>,
}

impl Notifier {
    /// A notifier for the configured webhook, if any.
    pub fn new(config_url: Option<&str>) -> Notifier {
        let url = std::env::var("SLACK_WEBHOOK_URL")
            .ok()
            .filter(|url| !url.is_empty())
            .or_else(|| config_url.map(str::to_owned));
        Notifier {
            url,
            sending: Mutex::new(None),
        }
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

    /// Sends `text` at `level`, after the notification before it, on a thread of its own.
    pub fn send(&self, level: Level, text: &str) {
        let Some(url) = &self.url else {
            return;
        };
        let mut sending = self.sending.lock().unwrap_or_else(|e| e.into_inner());
        wait(sending.take());
        let prefix = match level {
            Level::Start => ":arrows_counterclockwise:",
            Level::Success => ":white_check_mark:",
            Level::Failure => ":warning:",
            Level::Critical => ":rotating_light: CRITICAL",
        };
        let body = serde_json::json!({ "text": format!("{prefix} {text}") });
        let post = {
            let url = url.clone();
            move || post(&url, &body)
        };
        match std::thread::Builder::new()
            .name("notify".to_owned())
            .spawn(post.clone())
        {
            Ok(thread) => *sending = Some(thread),
            Err(_) => post(),
        }
    }
}

impl Drop for Notifier {
    /// The last notification is delivered (or given up on) before the run ends.
    fn drop(&mut self) {
        wait(
            self.sending
                .get_mut()
                .unwrap_or_else(|e| e.into_inner())
                .take(),
        );
    }
}

/// Waits for a notification's thread, if one is on its way.
fn wait(sending: Option<JoinHandle<()>>) {
    if let Some(thread) = sending {
        // A panic there was a bug in the client; it is reported on standard error already.
        let _ = thread.join();
    }
}

/// Posts `body` to the webhook at `url`; logs a failure, without the URL.
fn post(url: &str, body: &serde_json::Value) {
    let sent = crate::tls::blocking_client_for(url)
        .timeout(Duration::from_secs(10))
        .build()
        .and_then(|client| client.post(url).json(body).send())
        .and_then(reqwest::blocking::Response::error_for_status);
    if let Err(error) = sent {
        tracing::warn!("notification not delivered: {}", cause(&error, url));
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
