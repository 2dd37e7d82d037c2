//! `upkeep serve`: the webhook service. Detected updates (DIUN) and `/bump` requests become
//! jobs in a SQLite queue, and workers run them as `upkeep bump`.
//!
//! - [`auth`]: bearer tokens;
//! - [`connections`]: the HTTP connections: header timeout, connection cap;
//! - [`store`]: the queue, coalescing and the rate limit;
//! - [`routes`]: the HTTP API;
//! - [`names`]: what a name or version may be, and the one spelling a job is kept under;
//! - [`runner`]: the workers;
//! - [`metrics`]: the Prometheus exposition.

mod auth;
mod connections;
mod metrics;
mod names;
mod routes;
mod runner;
mod store;

use crate::args::ServeArgs;
use crate::config::Config;
use crate::deliver::notify::{Level, Notifier};
use crate::dirs::default_state_path;
use anyhow::Context;
use auth::Tokens;
use connections::{Closed, Connections, Limits, Observer};
use metrics::Metrics;
use runner::{BumpCommand, unix_now, worker};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use store::Store;
use tokio::sync::{Notify, watch};
use upkeep_pins::{ScanReport, scan};

/// What the handlers and workers share.
pub struct App {
    store: Store,
    tokens: Tokens,
    metrics: Metrics,
    config: Config,
    repo: PathBuf,
    bump: BumpCommand,
    /// Rung when a job is queued (and by a worker that took one, for the next).
    wake: Notify,
    /// The repository's pins, for the filter; dropped when a job ends.
    pins: Mutex<Option<Arc<ScanReport>>>,
    /// The open HTTP connections.
    connections: Arc<Connections>,
    /// Time a client has to send a request's body.
    body_timeout: Duration,
    /// How long a gated job waits before it runs again.
    gate_retry: Duration,
}

impl Observer for App {
    fn closed(&self, why: Closed) {
        self.metrics.connection_closed(why);
    }
}

impl App {
    /// The repository's pins, scanned again after a job ended.
    fn scan(&self) -> anyhow::Result<Arc<ScanReport>> {
        let mut cached = self.pins.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(report) = cached.as_ref() {
            return Ok(report.clone());
        }
        let report = Arc::new(
            scan(&self.repo, &self.config.scan_options())
                .with_context(|| format!("cannot scan {}", self.repo.display()))?,
        );
        *cached = Some(report.clone());
        Ok(report)
    }

    fn forget_scan(&self) {
        *self.pins.lock().unwrap_or_else(|e| e.into_inner()) = None;
    }
}

/// Runs the service until SIGTERM or Ctrl-C.
pub fn run(args: &ServeArgs, config_file: Option<&Path>) -> anyhow::Result<ExitCode> {
    let (config, _) = Config::load(config_file, &args.path)?;
    let tokens = Tokens::load(
        std::env::var("UPKEEP_SERVE_TOKENS").ok().as_deref(),
        args.token_file.as_deref(),
    )?;
    let db = match &args.db {
        Some(db) => db.clone(),
        None => default_state_path("serve.sqlite3")
            .context("no --db, and neither XDG_STATE_HOME nor HOME is set")?,
    };
    let store = Store::open(&db)?;
    let interrupted = store.recover(unix_now())?;
    if !interrupted.is_empty() {
        let list: Vec<String> = interrupted
            .iter()
            .map(|job| format!("#{} {} {}", job.id, job.name, job.version))
            .collect();
        tracing::warn!(jobs = %list.join(", "), "jobs interrupted by the last stop; check their commits");
        Notifier::new(config.notify.slack_webhook_url.as_deref()).send(
            Level::Critical,
            &format!(
                "upkeep serve: the last stop interrupted {}; their bumps may be half-done: check them",
                list.join(", ")
            ),
        );
    }
    let hook_env: Vec<String> = config
        .hooks
        .pre_upgrade
        .iter()
        .flat_map(|hook| hook.env.iter().cloned())
        .collect();
    let bump = match &args.bump_command {
        Some(program) => BumpCommand {
            program: program.clone(),
            prefix: Vec::new(),
            repo: args.path.clone(),
            config: config_file.map(Path::to_owned),
            hook_env,
        },
        None => BumpCommand {
            program: std::env::current_exe().context("cannot find upkeep's own executable")?,
            prefix: vec!["bump".to_owned(), "--sync".to_owned()],
            repo: args.path.clone(),
            config: config_file.map(Path::to_owned),
            hook_env,
        },
    };
    let limits = limits(args);
    let app = Arc::new(App {
        store,
        tokens,
        metrics: Metrics::default(),
        config,
        repo: args.path.clone(),
        bump,
        wake: Notify::new(),
        pins: Mutex::new(None),
        connections: Arc::new(Connections::new(limits.max_connections)),
        body_timeout: limits.body_timeout,
        gate_retry: Duration::from_secs(args.gate_retry),
    });
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(serve(app, args, limits))?;
    Ok(ExitCode::SUCCESS)
}

/// Descriptors kept free of connections: the database and its journal, logs, and three pipes
/// per running bump.
fn reserved_files(concurrency: usize) -> u64 {
    64 + 3 * concurrency as u64
}

/// The connection limits of the arguments, the cap lowered to fit the open-file limit.
fn limits(args: &ServeArgs) -> Limits {
    let mut max_connections = args.max_connections.max(1);
    if let Some(files) = connections::open_file_limit() {
        let fits = files
            .saturating_sub(reserved_files(args.concurrency))
            .max(16);
        if max_connections as u64 > fits {
            tracing::warn!(
                files,
                "--max-connections lowered from {max_connections} to {fits}: the open-file limit (ulimit -n) is {files}"
            );
            max_connections = usize::try_from(fits).unwrap_or(usize::MAX);
        }
    }
    Limits {
        max_connections,
        header_timeout: Duration::from_secs(args.header_timeout),
        body_timeout: Duration::from_secs(args.body_timeout),
    }
}

async fn serve(app: Arc<App>, args: &ServeArgs, limits: Limits) -> anyhow::Result<()> {
    let listener = connections::listen(args.listen)
        .with_context(|| format!("cannot listen on {}", args.listen))?;
    let (stop, stopped) = watch::channel(false);
    let mut workers: Vec<_> = (0..args.concurrency.max(1))
        .map(|_| tokio::spawn(worker(app.clone(), stopped.clone())))
        .collect();
    crate::output::print(&format!("listening on {}\n", listener.local_addr()?))?;
    let signal_stop = stop.clone();
    tokio::spawn(async move {
        shutdown_signal().await;
        tracing::info!("stopping: no new requests; running jobs may finish");
        let _ = signal_stop.send(true);
    });
    connections::serve(
        listener,
        routes::router(app.clone()),
        app.connections.clone(),
        limits,
        app.clone(),
        stopped.clone(),
        Duration::from_secs(5),
    )
    .await;
    let _ = stop.send(true);
    let grace = Duration::from_secs(args.grace);
    let finished = tokio::time::timeout(grace, async {
        for handle in &mut workers {
            let _ = handle.await;
        }
    })
    .await;
    if finished.is_err() {
        // Dropping a worker's future kills its bump (`kill_on_drop`).
        for handle in &workers {
            handle.abort();
        }
        for handle in workers {
            let _ = handle.await;
        }
        let stopped = app.store.recover(unix_now())?;
        tracing::warn!(
            count = stopped.len(),
            "jobs still running after the grace period were stopped and marked interrupted"
        );
    }
    Ok(())
}

/// SIGTERM (Kubernetes) or Ctrl-C.
async fn shutdown_signal() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(term) => term,
                Err(error) => {
                    tracing::error!(%error, "cannot listen for SIGTERM");
                    let _ = interrupt.await;
                    return;
                }
            };
        tokio::select! {
            _ = interrupt => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = interrupt.await;
    }
}
