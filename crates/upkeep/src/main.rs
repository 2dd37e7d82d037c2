//! `upkeep`: keep the version pins of a Terraform/Helm infrastructure repo current, safely.

mod args;
mod commands;
mod output;

use clap::Parser;

use std::process::ExitCode;

fn main() -> ExitCode {
    let args = args::Cli::parse();
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
