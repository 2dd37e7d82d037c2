//! Counters and histograms of the service, rendered in the Prometheus text format
//! (version 0.0.4). Every series is prefixed `upkeep_`. Job counts by status come from the
//! database at scrape time, so they survive restarts; the rest counts since start.

use crate::serve::connections::Closed;
use crate::serve::store::Status;
use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Upper bounds of the intake latency buckets, in seconds.
const INTAKE_BUCKETS: [f64; 10] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0];
/// Upper bounds of the job duration buckets, in seconds (a bump waits for CI and verifies).
const JOB_BUCKETS: [f64; 9] = [1.0, 5.0, 15.0, 60.0, 300.0, 600.0, 1200.0, 1800.0, 3600.0];

/// A histogram with fixed buckets.
struct Histogram {
    bounds: &'static [f64],
    /// Per bucket (not cumulative), then the sum and count.
    state: Mutex<(Vec<u64>, f64, u64)>,
}

impl Histogram {
    fn new(bounds: &'static [f64]) -> Histogram {
        Histogram {
            bounds,
            state: Mutex::new((vec![0; bounds.len()], 0.0, 0)),
        }
    }

    fn observe(&self, value: Duration) {
        let seconds = value.as_secs_f64();
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(bucket) = self.bounds.iter().position(|bound| seconds <= *bound) {
            state.0[bucket] += 1;
        }
        state.1 += seconds;
        state.2 += 1;
    }

    fn render(&self, out: &mut String, name: &str, help: &str) {
        let (buckets, sum, count) = self.state.lock().unwrap_or_else(|e| e.into_inner()).clone();
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} histogram");
        let mut cumulative = 0;
        for (bound, n) in self.bounds.iter().zip(buckets) {
            cumulative += n;
            let _ = writeln!(out, "{name}_bucket{{le=\"{bound}\"}} {cumulative}");
        }
        let _ = writeln!(out, "{name}_bucket{{le=\"+Inf\"}} {count}");
        let _ = writeln!(out, "{name}_sum {sum}\n{name}_count {count}");
    }
}

/// The service's metrics.
pub struct Metrics {
    received: AtomicU64,
    accepted: AtomicU64,
    coalesced: AtomicU64,
    unauthorized: AtomicU64,
    skipped: Mutex<BTreeMap<&'static str, u64>>,
    finished: Mutex<BTreeMap<&'static str, u64>>,
    closed: Mutex<BTreeMap<&'static str, u64>>,
    intake: Histogram,
    jobs: Histogram,
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics {
            received: AtomicU64::new(0),
            accepted: AtomicU64::new(0),
            coalesced: AtomicU64::new(0),
            unauthorized: AtomicU64::new(0),
            skipped: Mutex::new(BTreeMap::new()),
            finished: Mutex::new(BTreeMap::new()),
            closed: Mutex::new(BTreeMap::new()),
            intake: Histogram::new(&INTAKE_BUCKETS),
            jobs: Histogram::new(&JOB_BUCKETS),
        }
    }
}

impl Metrics {
    /// An update request arrived (authorized).
    pub fn received(&self) {
        self.received.fetch_add(1, Ordering::Relaxed);
    }

    /// A request was refused for its token.
    pub fn unauthorized(&self) {
        self.unauthorized.fetch_add(1, Ordering::Relaxed);
    }

    /// A new job was queued; `took` is the intake's duration.
    pub fn accepted(&self, took: Duration) {
        self.accepted.fetch_add(1, Ordering::Relaxed);
        self.intake.observe(took);
    }

    /// A delivery was counted on a live job.
    pub fn coalesced(&self, took: Duration) {
        self.coalesced.fetch_add(1, Ordering::Relaxed);
        self.intake.observe(took);
    }

    /// An update was skipped by the rule labelled `reason`.
    pub fn skipped(&self, reason: &'static str, took: Duration) {
        *self
            .skipped
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry(reason)
            .or_default() += 1;
        self.intake.observe(took);
    }

    /// A job ended with `status` after `took`.
    pub fn finished(&self, status: Status, took: Duration) {
        *self
            .finished
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry(status.as_str())
            .or_default() += 1;
        self.jobs.observe(took);
    }

    /// The service closed a connection, for `why`.
    pub fn connection_closed(&self, why: Closed) {
        *self
            .closed
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry(why.label())
            .or_default() += 1;
    }

    /// The exposition text; `counts` are the jobs per status in the database, `open` the
    /// HTTP connections open.
    pub fn render(&self, counts: &[(Status, u64)], open: usize) -> String {
        let mut out = String::new();
        let counter = |out: &mut String, name: &str, help: &str, value: u64| {
            let _ = writeln!(
                out,
                "# HELP {name} {help}\n# TYPE {name} counter\n{name} {value}"
            );
        };
        counter(
            &mut out,
            "upkeep_updates_received_total",
            "Authorized update requests (webhook and /bump).",
            self.received.load(Ordering::Relaxed),
        );
        counter(
            &mut out,
            "upkeep_jobs_accepted_total",
            "Requests that became a new job.",
            self.accepted.load(Ordering::Relaxed),
        );
        counter(
            &mut out,
            "upkeep_updates_coalesced_total",
            "Deliveries of an update already queued or running.",
            self.coalesced.load(Ordering::Relaxed),
        );
        counter(
            &mut out,
            "upkeep_unauthorized_requests_total",
            "Requests refused for a missing or wrong bearer token.",
            self.unauthorized.load(Ordering::Relaxed),
        );
        let _ = writeln!(
            out,
            "# HELP upkeep_updates_skipped_total Updates skipped at intake, by rule.\n# TYPE upkeep_updates_skipped_total counter"
        );
        for (reason, n) in self
            .skipped
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
        {
            let _ = writeln!(
                out,
                "upkeep_updates_skipped_total{{reason=\"{reason}\"}} {n}"
            );
        }
        let _ = writeln!(
            out,
            "# HELP upkeep_jobs_finished_total Jobs that reached a final status since start.\n# TYPE upkeep_jobs_finished_total counter"
        );
        for (status, n) in self
            .finished
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
        {
            let _ = writeln!(out, "upkeep_jobs_finished_total{{status=\"{status}\"}} {n}");
        }
        let _ = writeln!(
            out,
            "# HELP upkeep_jobs Jobs in the database, by status (queued and running are the live ones).\n# TYPE upkeep_jobs gauge"
        );
        for status in Status::ALL {
            let n = counts
                .iter()
                .find(|(s, _)| *s == status)
                .map_or(0, |(_, n)| *n);
            let _ = writeln!(out, "upkeep_jobs{{status=\"{}\"}} {n}", status.as_str());
        }
        let _ = writeln!(
            out,
            "# HELP upkeep_http_connections_open HTTP connections open now.\n# TYPE upkeep_http_connections_open gauge\nupkeep_http_connections_open {open}"
        );
        let _ = writeln!(
            out,
            "# HELP upkeep_http_connections_closed_total Connections the service closed: headers not sent in time, the oldest idle one evicted at the cap, or refused at the cap.\n# TYPE upkeep_http_connections_closed_total counter"
        );
        let closed = self
            .closed
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        for why in [Closed::HeaderTimeout, Closed::Evicted, Closed::Refused] {
            let n = closed.get(why.label()).copied().unwrap_or(0);
            let _ = writeln!(
                out,
                "upkeep_http_connections_closed_total{{reason=\"{}\"}} {n}",
                why.label()
            );
        }
        self.intake.render(
            &mut out,
            "upkeep_intake_duration_seconds",
            "From request to answer, for authorized update requests.",
        );
        self.jobs.render(
            &mut out,
            "upkeep_job_duration_seconds",
            "From a worker taking a job to its final status.",
        );
        out
    }
}

#[cfg(test)]
mod tests {
    use super::Metrics;
    use crate::serve::connections::Closed;
    use crate::serve::store::Status;
    use std::time::Duration;

    #[test]
    fn the_exposition_has_every_series_with_the_prefix() {
        let metrics = Metrics::default();
        metrics.received();
        metrics.accepted(Duration::from_millis(3));
        metrics.skipped("not_pinned", Duration::from_millis(1));
        metrics.finished(Status::Succeeded, Duration::from_secs(42));
        metrics.connection_closed(Closed::HeaderTimeout);
        let text = metrics.render(&[(Status::Queued, 4)], 7);
        for line in text.lines().filter(|l| !l.starts_with('#')) {
            assert!(line.starts_with("upkeep_"), "{line}");
        }
        assert!(text.contains("upkeep_jobs{status=\"queued\"} 4\n"));
        assert!(text.contains("upkeep_jobs{status=\"running\"} 0\n"));
        assert!(text.contains("upkeep_updates_skipped_total{reason=\"not_pinned\"} 1\n"));
        assert!(text.contains("upkeep_intake_duration_seconds_bucket{le=\"0.005\"} 2\n"));
        assert!(text.contains("upkeep_job_duration_seconds_bucket{le=\"60\"} 1\n"));
        assert!(text.contains("upkeep_job_duration_seconds_count 1\n"));
        assert!(text.contains("upkeep_http_connections_open 7\n"));
        assert!(
            text.contains("upkeep_http_connections_closed_total{reason=\"header_timeout\"} 1\n")
        );
        assert!(text.contains("upkeep_http_connections_closed_total{reason=\"evicted\"} 0\n"));
    }
}
