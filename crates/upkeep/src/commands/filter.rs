//! `upkeep filter`: should a detected update (a DIUN notification) be acted on?

use crate::args::{FilterArgs, Format};
use crate::config::Config;
use crate::output;
use crate::policy::filter::{Update, judge};
use crate::policy::rate_limit::{RateLimit, now};
use anyhow::Context;
use serde::Serialize;
use std::io::Read;
use std::path::Path;
use std::process::ExitCode;
use upkeep_pins::scan;

/// The decision, as printed with `--format json`.
#[derive(Debug, Serialize)]
struct Decision {
    decision: &'static str,
    reason: String,
    image: String,
    tag: String,
    /// `file:line:column` of the pins it would move.
    pins: Vec<String>,
}

/// Decides and prints; records an accepted update in the rate-limit state.
pub fn run(args: &FilterArgs, config_file: Option<&Path>) -> anyhow::Result<ExitCode> {
    let (config, _) = Config::load(config_file, &args.path)?;
    let limit = RateLimit::new(&args.path, &config.filter);
    if args.reset_rate_limit {
        limit.reset()?;
        output::print("rate limit reset\n")?;
        return Ok(ExitCode::SUCCESS);
    }
    let text = if args.payload == Path::new("-") {
        let mut text = String::new();
        std::io::stdin()
            .read_to_string(&mut text)
            .context("cannot read the payload from standard input")?;
        text
    } else {
        std::fs::read_to_string(&args.payload)
            .with_context(|| format!("cannot read {}", args.payload.display()))?
    };
    let update = Update::parse(&text)?;
    let report = scan(&args.path, &config.scan_options())
        .with_context(|| format!("cannot scan {}", args.path.display()))?;
    let (reason, pins) = match judge(&update, &config, &report.pins) {
        Err(skip) => (Err(skip.reason), Vec::new()),
        Ok(pins) => {
            let summary = format!("{} {}", update.image, update.tag);
            (limit.admit(&summary, now())?, pins)
        }
    };
    let decision = Decision {
        decision: if reason.is_ok() { "accept" } else { "skip" },
        reason: match &reason {
            Ok(()) => format!("{}:{} is newer than its pin", update.image, update.tag),
            Err(reason) => reason.clone(),
        },
        image: update.image.clone(),
        tag: update.tag.clone(),
        pins: pins
            .iter()
            .map(|pin| format!("{}:{}:{}", pin.file.display(), pin.line, pin.column))
            .collect(),
    };
    match args.format {
        Format::Json => output::print_json(&decision)?,
        Format::Human => match &reason {
            Ok(()) => output::print(&format!(
                "accept: {} -> {} ({})\n",
                update.image,
                update.tag,
                decision.pins.join(", ")
            ))?,
            Err(reason) => output::print(&format!("skip: {reason}\n"))?,
        },
    }
    Ok(if reason.is_ok() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
