//! `upkeep`: keep the version pins of a Terraform/Helm infrastructure repo current, safely.

mod args;
mod child_env;
mod commands;
mod config;
mod deliver;
mod detect;
mod dirs;
mod output;
mod plan;
mod policy;
mod serve;

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
