//! `upkeep plan`: read the release notes between the pinned and the wanted version, decide
//! the risk with its evidence, and draft the review. Writes nothing.

use crate::args::{Format, PlanArgs};
use crate::config::Config;
use crate::output;
use crate::plan::prepare::{Prepared, Request, prepare};
use crate::plan::review::render;
use std::path::Path;
use std::process::ExitCode;

/// Plans the upgrade and prints the report.
pub fn run(args: &PlanArgs, config_file: Option<&Path>) -> anyhow::Result<ExitCode> {
    let (config, _) = Config::load(config_file, &args.path)?;
    let request = Request {
        root: &args.path,
        name: &args.name,
        version: &args.version,
        kind: args.kind.map(Into::into),
        cache_dir: args.cache_dir.clone(),
        no_cache: args.no_cache,
        max_wait: args.max_wait,
    };
    let report = match prepare(&request, &config)? {
        Prepared::Nothing(why) => {
            output::print(&format!("{why}\n"))?;
            return Ok(ExitCode::from(1));
        }
        Prepared::Plan(report) => report,
    };
    match args.format {
        Format::Json => output::print_json(&report)?,
        Format::Human => output::print(&render(&report))?,
    }
    Ok(ExitCode::SUCCESS)
}
