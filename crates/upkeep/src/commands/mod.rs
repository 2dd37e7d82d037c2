//! One module per subcommand.

mod bump;
mod config;
mod filter;
mod lint;
mod outdated;
mod plan;
mod rollback;
mod scan;
mod set;

use crate::args::{Cli, Command};
use std::process::ExitCode;

/// Runs the parsed command line.
pub fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let config = cli.config.as_deref();
    match cli.command {
        Command::Scan(args) => scan::run(&args, config),
        Command::Set(args) => set::run(&args, config),
        Command::Plan(args) => plan::run(&args, config),
        Command::Lint(args) => lint::run(&args, config),
        Command::Filter(args) => filter::run(&args, config),
        Command::Config(command) => config::run(&command, config),
        Command::Bump(args) => bump::run(&args, config),
        Command::Rollback(args) => rollback::run(&args, config),
        Command::Outdated(args) => outdated::run(&args, config),
        Command::Serve(args) => crate::serve::run(&args, config),
    }
}
