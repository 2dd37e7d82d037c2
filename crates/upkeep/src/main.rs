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
mod tls;

use clap::Parser;

use std::process::ExitCode;

fn main() -> ExitCode {
    tls::install();
    let args = args::Cli::parse();
    output::terminal::init(args.verbosity());
    match commands::run(args) {
        Ok(code) => code,
        Err(error) => {
            #[allow(clippy::print_stderr)]
            {
                eprintln!("upkeep: error: {}", output::terminal::error_line(&error));
            }
            ExitCode::from(2)
        }
    }
}
