//! One module per subcommand.

mod plan;
mod scan;
mod set;

use crate::args::{Cli, Command};
use std::process::ExitCode;

/// Runs the parsed command line.
pub fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Scan(args) => scan::run(&args),
        Command::Set(args) => set::run(&args),
        Command::Plan(args) => plan::run(&args),
    }
}
