//! `upkeep serve`: the webhook service. Detected updates (DIUN) and `/bump` requests become
//! jobs in a SQLite queue, and workers run them as `upkeep bump`.
//!
//! - [`auth`]: bearer tokens;
//! - [`store`]: the queue, coalescing and the rate limit;
//! - [`routes`]: the HTTP API;
//! - [`names`]: what a name or version may be, and the one spelling a job is kept under;
//! - [`runner`]: the workers;
//! - [`metrics`]: the Prometheus exposition.

mod auth;
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
use metrics::Metrics;
use runner::{BumpCommand, unix_now, worker};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use store::Store;
use tokio::sync::{Notify, watch};
use upkeep_pins::{ScanOptions, ScanReport, scan};

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
}

impl App {
    /// The repository's pins, scanned again after a job ended.
    fn scan(&self) -> anyhow::Result<Arc<ScanReport>> {
        let mut cached = self.pins.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(report) = cached.as_ref() {
            return Ok(report.clone());
        }
        let report = Arc::new(
            scan(&self.repo, &ScanOptions::default())
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
    let bump = match &args.bump_command {
        Some(program) => BumpCommand {
            program: program.clone(),
            prefix: Vec::new(),
            repo: args.path.clone(),
            config: config_file.map(Path::to_owned),
        },
        None => BumpCommand {
            program: std::env::current_exe().context("cannot find upkeep's own executable")?,
            prefix: vec!["bump".to_owned(), "--sync".to_owned()],
            repo: args.path.clone(),
            config: config_file.map(Path::to_owned),
        },
    };
    let app = Arc::new(App {
        store,
        tokens,
        metrics: Metrics::default(),
        config,
        repo: args.path.clone(),
        bump,
        wake: Notify::new(),
        pins: Mutex::new(None),
    });
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(serve(app, args))?;
    Ok(ExitCode::SUCCESS)
}

async fn serve(app: Arc<App>, args: &ServeArgs) -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("cannot listen on {}", args.listen))?;
    let (stop, stopped) = watch::channel(false);
    let mut workers: Vec<_> = (0..args.concurrency.max(1))
        .map(|_| tokio::spawn(worker(app.clone(), stopped.clone())))
        .collect();
    crate::output::print(&format!("listening on {}\n", listener.local_addr()?))?;
    let signal_stop = stop.clone();
    axum::serve(listener, routes::router(app.clone()))
        .with_graceful_shutdown(async move {
            shutdown_signal().await;
            tracing::info!("stopping: no new requests; running jobs may finish");
            let _ = signal_stop.send(true);
        })
        .await
        .context("the HTTP server failed")?;
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
