//! `upkeep`: keep the version pins of a Terraform/Helm infrastructure repo current, safely.

mod args;
mod chart_index;
mod clock;
mod commands;
mod config;
mod deploy;
mod dirs;
mod git;
mod hooks;
mod http_retry;
mod lint;
mod lookup;
mod notify;
mod output;
mod policy;
mod rate_limit;
mod registry;
mod review;
mod serve;
mod terraform_registry;
mod tree_lock;
mod verify;
mod woodpecker;

use clap::Parser;

use std::process::ExitCode;

fn main() -> ExitCode {
    let args = args::Cli::parse();
    // Logs go to standard error, filtered by RUST_LOG (warnings by default).
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    match commands::run(args) {
        Ok(code) => code,
        Err(error) => {
            #[allow(clippy::print_stderr)]
            {
                eprintln!("upkeep: error: {error:#}");
            }
            ExitCode::from(2)
        }
    }
}
