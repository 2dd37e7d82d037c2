//! The job queue, in SQLite: every accepted request is a row before its `202` is sent, so a
//! crash or restart loses nothing. One connection, behind a mutex, in WAL mode with
//! `synchronous = FULL` (a committed job survives a power cut, not only a killed process).

use anyhow::Context;
use rusqlite::{Connection, OptionalExtension, params};
use serde::Serialize;
use std::path::Path;
use std::sync::Mutex;

/// Where a job is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Waiting for a worker.
    Queued,
    /// A worker runs its bump.
    Running,
    /// The bump committed, delivered and verified the update.
    Succeeded,
    /// The bump found nothing to do or its policy skipped the update.
    Skipped,
    /// The update was delivered, failed, and was reverted.
    RolledBack,
    /// The bump failed (or, critically, its rollback failed too).
    Failed,
    /// The server stopped while the job ran; see [`Store::recover`].
    Interrupted,
}

impl Status {
    /// Every status, for metrics.
    pub const ALL: [Status; 7] = [
        Status::Queued,
        Status::Running,
        Status::Succeeded,
        Status::Skipped,
        Status::RolledBack,
        Status::Failed,
        Status::Interrupted,
    ];

    /// The name stored and shown.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Queued => "queued",
            Status::Running => "running",
            Status::Succeeded => "succeeded",
            Status::Skipped => "skipped",
            Status::RolledBack => "rolled_back",
            Status::Failed => "failed",
            Status::Interrupted => "interrupted",
        }
    }

    fn parse(text: &str) -> Status {
        Status::ALL
            .into_iter()
            .find(|status| status.as_str() == text)
            .unwrap_or(Status::Failed)
    }
}

/// One job, as `GET /jobs/{id}` shows it.
#[derive(Debug, Clone, Serialize)]
pub struct Job {
    /// Its number.
    pub id: i64,
    /// The image, chart, provider or module to bump.
    pub name: String,
    /// The version to bump to.
    pub version: String,
    /// `diun` or `bump` (the endpoint that accepted it).
    pub source: String,
    /// Where it is.
    pub status: Status,
    /// Deliveries coalesced into this job (1 when it was asked for once).
    pub deliveries: i64,
    /// When it was accepted, started and finished (Unix seconds).
    pub created_at: i64,
    /// When a worker took it.
    pub started_at: Option<i64>,
    /// When it reached a final status.
    pub finished_at: Option<i64>,
    /// The bump's outcome word (`success`, `rolled_back`, `critical`, …), when it said one.
    pub outcome: Option<String>,
    /// The bump's stages, as it reported them.
    pub stages: serde_json::Value,
    /// SHAs of the commits it made.
    pub commits: Vec<String>,
    /// A queued job that was gated runs again from then (Unix seconds).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub not_before: Option<i64>,
    /// What the bump printed (the end of it, when long).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub log: Option<String>,
}

/// How an intake ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Intake {
    /// A new job.
    Accepted(i64),
    /// The same update is already queued or running: counted on that job.
    Coalesced(i64),
    /// The rate limit is reached; the count in the window.
    RateLimited(u64),
}

/// The end of a job, from its bump.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// Its final status.
    pub status: Status,
    /// The bump's outcome word.
    pub outcome: Option<String>,
    /// The bump's stages.
    pub stages: serde_json::Value,
    /// The commits it made.
    pub commits: Vec<String>,
    /// Its output.
    pub log: String,
}

/// The queue.
pub struct Store {
    db: Mutex<Connection>,
}

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS jobs (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    name        TEXT    NOT NULL,
    version     TEXT    NOT NULL,
    source      TEXT    NOT NULL,
    status      TEXT    NOT NULL,
    deliveries  INTEGER NOT NULL DEFAULT 1,
    created_at  INTEGER NOT NULL,
    started_at  INTEGER,
    finished_at INTEGER,
    outcome     TEXT,
    stages      TEXT    NOT NULL DEFAULT '[]',
    commits     TEXT    NOT NULL DEFAULT '[]',
    log         TEXT    NOT NULL DEFAULT '',
    not_before  INTEGER
);
-- At most one live job per update: the coalescing rule, enforced by the database too.
CREATE UNIQUE INDEX IF NOT EXISTS one_live_job_per_update
    ON jobs (name, version) WHERE status IN ('queued', 'running');
CREATE INDEX IF NOT EXISTS jobs_by_status ON jobs (status, id);
CREATE INDEX IF NOT EXISTS jobs_by_time ON jobs (created_at);
";

impl Store {
    /// Opens (creating) the database at `path`.
    pub fn open(path: &Path) -> anyhow::Result<Store> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("cannot create {}", dir.display()))?;
        }
        let db =
            Connection::open(path).with_context(|| format!("cannot open {}", path.display()))?;
        db.pragma_update(None, "journal_mode", "WAL")?;
        db.pragma_update(None, "synchronous", "FULL")?;
        db.busy_timeout(std::time::Duration::from_secs(10))?;
        db.execute_batch(SCHEMA)
            .with_context(|| format!("cannot create the tables of {}", path.display()))?;
        // A database made before gated jobs could wait gains the column.
        let has_not_before: bool = db.query_row(
            "SELECT count(*) FROM pragma_table_info('jobs') WHERE name = 'not_before'",
            [],
            |row| row.get::<_, i64>(0).map(|n| n > 0),
        )?;
        if !has_not_before {
            db.execute("ALTER TABLE jobs ADD COLUMN not_before INTEGER", [])
                .with_context(|| format!("cannot add a column to {}", path.display()))?;
        }
        Ok(Store { db: Mutex::new(db) })
    }

    fn db(&self) -> std::sync::MutexGuard<'_, Connection> {
        self.db.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Records a request: coalesced onto a live job of the same update, refused by the rate
    /// limit (`max` new jobs since `window_start`), or a new queued job. One transaction.
    pub fn intake(
        &self,
        name: &str,
        version: &str,
        source: &str,
        now: i64,
        limit: (u64, i64),
    ) -> anyhow::Result<Intake> {
        let (max, window_start) = limit;
        let mut db = self.db();
        let tx = db.transaction()?;
        let live: Option<i64> = tx
            .query_row(
                "SELECT id FROM jobs WHERE name = ?1 AND version = ?2 AND status IN ('queued', 'running')",
                params![name, version],
                |row| row.get(0),
            )
            .optional()?;
        if let Some(id) = live {
            tx.execute(
                "UPDATE jobs SET deliveries = deliveries + 1 WHERE id = ?1",
                [id],
            )?;
            tx.commit()?;
            return Ok(Intake::Coalesced(id));
        }
        let recent: u64 = tx.query_row(
            "SELECT count(*) FROM jobs WHERE created_at > ?1",
            [window_start],
            |row| row.get(0),
        )?;
        if recent >= max {
            return Ok(Intake::RateLimited(recent));
        }
        tx.execute(
            "INSERT INTO jobs (name, version, source, status, created_at) VALUES (?1, ?2, ?3, 'queued', ?4)",
            params![name, version, source, now],
        )?;
        let id = tx.last_insert_rowid();
        tx.commit()?;
        Ok(Intake::Accepted(id))
    }

    /// Takes the oldest queued job that may run now for a worker: `(id, name, version)`.
    pub fn claim(&self, now: i64) -> anyhow::Result<Option<(i64, String, String)>> {
        Ok(self
            .db()
            .query_row(
                "UPDATE jobs SET status = 'running', started_at = ?1
                 WHERE id = (SELECT id FROM jobs WHERE status = 'queued'
                             AND (not_before IS NULL OR not_before <= ?1) ORDER BY id LIMIT 1)
                 RETURNING id, name, version",
                [now],
                |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)),
            )
            .optional()?)
    }

    /// Records a job's end.
    pub fn finish(&self, id: i64, outcome: &Outcome, now: i64) -> anyhow::Result<()> {
        self.db().execute(
            "UPDATE jobs SET status = ?2, outcome = ?3, stages = ?4, commits = ?5, log = ?6, finished_at = ?7
             WHERE id = ?1",
            params![
                id,
                outcome.status.as_str(),
                outcome.outcome,
                outcome.stages.to_string(),
                serde_json::to_string(&outcome.commits)?,
                outcome.log,
                now
            ],
        )?;
        Ok(())
    }

    /// Puts a job whose bump was gated (firing alerts, soak time) back in the queue, to be run
    /// again from `not_before` (Unix seconds); what the bump said is kept for `GET /jobs`.
    pub fn requeue(&self, id: i64, outcome: &Outcome, not_before: i64) -> anyhow::Result<()> {
        self.db().execute(
            "UPDATE jobs SET status = 'queued', started_at = NULL, outcome = ?2, stages = ?3,
                 log = ?4, not_before = ?5
             WHERE id = ?1",
            params![
                id,
                outcome.outcome,
                outcome.stages.to_string(),
                outcome.log,
                not_before
            ],
        )?;
        Ok(())
    }

    /// After a crash: jobs left `running` become `interrupted` (a final status) and are
    /// returned, so they can be reported. They are not run again: a bump killed mid-way may
    /// have pushed a commit whose CI and verification never ran, and a second run would
    /// find the pin already moved and call it done. A person decides (`upkeep rollback`).
    pub fn recover(&self, now: i64) -> anyhow::Result<Vec<Job>> {
        let db = self.db();
        let mut statement = db.prepare(
            "UPDATE jobs SET status = 'interrupted', finished_at = ?1,
                 log = log || 'the server stopped while this job ran; check its commits by hand'
             WHERE status = 'running' RETURNING *",
        )?;
        let jobs = statement
            .query_map([now], |row| job_of(row, false))?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(jobs)
    }

    /// One job, with its log.
    pub fn job(&self, id: i64) -> anyhow::Result<Option<Job>> {
        Ok(self
            .db()
            .query_row("SELECT * FROM jobs WHERE id = ?1", [id], |row| {
                job_of(row, true)
            })
            .optional()?)
    }

    /// The newest jobs (without logs), optionally of one status.
    pub fn jobs(&self, status: Option<Status>, limit: u32) -> anyhow::Result<Vec<Job>> {
        let db = self.db();
        let mut statement = db.prepare(
            "SELECT * FROM jobs WHERE ?1 IS NULL OR status = ?1 ORDER BY id DESC LIMIT ?2",
        )?;
        let jobs = statement
            .query_map(params![status.map(Status::as_str), limit], |row| {
                job_of(row, false)
            })?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(jobs)
    }

    /// How many jobs have each status.
    pub fn counts(&self) -> anyhow::Result<Vec<(Status, u64)>> {
        let db = self.db();
        let mut statement = db.prepare("SELECT status, count(*) FROM jobs GROUP BY status")?;
        let counts = statement
            .query_map([], |row| {
                Ok((Status::parse(&row.get::<_, String>(0)?), row.get(1)?))
            })?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(counts)
    }
}

fn job_of(row: &rusqlite::Row<'_>, with_log: bool) -> rusqlite::Result<Job> {
    let text = |name: &str| -> rusqlite::Result<String> { row.get(name) };
    Ok(Job {
        id: row.get("id")?,
        name: text("name")?,
        version: text("version")?,
        source: text("source")?,
        status: Status::parse(&text("status")?),
        deliveries: row.get("deliveries")?,
        created_at: row.get("created_at")?,
        started_at: row.get("started_at")?,
        finished_at: row.get("finished_at")?,
        outcome: row.get("outcome")?,
        stages: serde_json::from_str(&text("stages")?).unwrap_or_default(),
        commits: serde_json::from_str(&text("commits")?).unwrap_or_default(),
        not_before: row.get("not_before")?,
        log: if with_log { Some(text("log")?) } else { None },
    })
}

#[cfg(test)]
mod tests {
    use super::{Intake, Outcome, Status, Store};

    #[test]
    fn intake_coalesces_limits_and_survives_reopening() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("jobs.sqlite3");
        let store = Store::open(&path).unwrap();
        let limit = (2, 0);
        let first = store
            .intake("ghcr.io/a/b", "1.2.0", "diun", 10, limit)
            .unwrap();
        assert_eq!(first, Intake::Accepted(1));
        assert_eq!(
            store
                .intake("ghcr.io/a/b", "1.2.0", "diun", 11, limit)
                .unwrap(),
            Intake::Coalesced(1)
        );
        assert_eq!(
            store
                .intake("ghcr.io/a/b", "1.3.0", "bump", 12, limit)
                .unwrap(),
            Intake::Accepted(2)
        );
        assert_eq!(
            store
                .intake("ghcr.io/a/c", "2.0.0", "diun", 13, limit)
                .unwrap(),
            Intake::RateLimited(2)
        );
        let (id, name, version) = store.claim(20).unwrap().unwrap();
        assert_eq!(
            (id, name.as_str(), version.as_str()),
            (1, "ghcr.io/a/b", "1.2.0")
        );
        // Running still coalesces; a finished job does not.
        assert_eq!(
            store
                .intake("ghcr.io/a/b", "1.2.0", "diun", 21, (10, 0))
                .unwrap(),
            Intake::Coalesced(1)
        );
        drop(store);
        let store = Store::open(&path).unwrap();
        let interrupted = store.recover(30).unwrap();
        assert_eq!(interrupted.len(), 1);
        assert_eq!(interrupted[0].deliveries, 3);
        store
            .finish(
                2,
                &Outcome {
                    status: Status::Succeeded,
                    outcome: Some("success".to_owned()),
                    stages: serde_json::json!([{"name": "push"}]),
                    commits: vec!["abc123".to_owned()],
                    log: "done".to_owned(),
                },
                40,
            )
            .unwrap();
        let job = store.job(2).unwrap().unwrap();
        assert_eq!(job.status, Status::Succeeded);
        assert_eq!(job.commits, ["abc123"]);
        assert_eq!(job.log.as_deref(), Some("done"));
        assert_eq!(
            store
                .intake("ghcr.io/a/b", "1.2.0", "diun", 50, (10, 0))
                .unwrap(),
            Intake::Accepted(3)
        );
        assert_eq!(store.jobs(Some(Status::Queued), 10).unwrap().len(), 1);
        let counts = store.counts().unwrap();
        assert!(counts.contains(&(Status::Interrupted, 1)));
    }

    #[test]
    fn a_requeued_job_is_not_claimed_before_its_time_and_an_old_database_gains_the_column() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("jobs.sqlite3");
        // A database of the previous schema, without `not_before`.
        let old = rusqlite::Connection::open(&path).unwrap();
        old.execute_batch(&super::SCHEMA.replace(",\n    not_before  INTEGER", ""))
            .unwrap();
        drop(old);
        let store = Store::open(&path).unwrap();
        store
            .intake("ghcr.io/a/b", "1.2.0", "diun", 10, (10, 0))
            .unwrap();
        assert_eq!(store.claim(11).unwrap().map(|c| c.0), Some(1));
        let gated = Outcome {
            status: Status::Queued,
            outcome: Some("gated".to_owned()),
            stages: serde_json::json!([]),
            commits: Vec::new(),
            log: "gated: alert X is firing".to_owned(),
        };
        store.requeue(1, &gated, 100).unwrap();
        assert_eq!(store.claim(99).unwrap(), None, "not before its time");
        let job = store.job(1).unwrap().unwrap();
        assert_eq!(job.status, Status::Queued);
        assert_eq!(job.outcome.as_deref(), Some("gated"));
        assert_eq!(job.not_before, Some(100));
        assert_eq!(store.claim(100).unwrap().map(|c| c.0), Some(1));
    }
}
