//! `upkeep config check` and `upkeep config show`.

use crate::args::{ConfigCommand, Format};
use crate::config::Config;
use crate::output;
use crate::policy::unused_config::unused_entries;
use anyhow::Context;
use std::fmt::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use upkeep_pins::{ScanOptions, scan};

/// Runs a `config` subcommand.
pub fn run(command: &ConfigCommand, config_file: Option<&Path>) -> anyhow::Result<ExitCode> {
    match command {
        ConfigCommand::Check { file, path: root } => {
            let explicit = file.as_deref().or(config_file);
            let start = root.as_deref().unwrap_or(Path::new("."));
            let (config, path) = Config::load(explicit, start)?;
            let Some(path) = path else {
                output::print("no config file found; the defaults apply\n")?;
                return Ok(ExitCode::SUCCESS);
            };
            let mut message = format!("{}: valid\n", path.display());
            let root = match root {
                Some(root) => root.clone(),
                None => match path.parent() {
                    Some(parent) if !parent.as_os_str().is_empty() => parent.to_owned(),
                    _ => PathBuf::from("."),
                },
            };
            message.push_str(&unused_warnings(&config, &path, &root)?);
            output::print(&message)?;
        }
        ConfigCommand::Show { path, format } => {
            let (config, file) = Config::load(config_file, path)?;
            match format {
                Format::Json => output::print_json(&config)?,
                Format::Human => {
                    let source = file.map_or_else(
                        || "# no config file found: defaults\n".to_owned(),
                        |file| format!("# effective config from {}\n", file.display()),
                    );
                    let yaml = serde_saphyr::to_string(&config)
                        .map_err(|error| anyhow::anyhow!("cannot print the config: {error}"))?;
                    output::print(&format!("{source}{yaml}"))?;
                }
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// One warning line per config entry that matches nothing in the repository at `root`.
fn unused_warnings(config: &Config, file: &Path, root: &Path) -> anyhow::Result<String> {
    let text = std::fs::read_to_string(file)
        .with_context(|| format!("cannot read config {}", file.display()))?;
    let report = scan(root, &ScanOptions::default())
        .with_context(|| format!("cannot scan {}", root.display()))?;
    let mut out = String::new();
    for unused in unused_entries(config, &text, &report.pins) {
        let at = unused.line.map_or_else(
            || file.display().to_string(),
            |line| format!("{}:{line}", file.display()),
        );
        let _ = writeln!(
            out,
            "{at}: warning: {}: `{}` matches {} in {}",
            unused.section,
            unused.entry,
            unused.expected,
            root.display()
        );
    }
    if !out.is_empty() && !report.errors.is_empty() {
        let _ = writeln!(
            out,
            "note: {} file(s) of {} could not be read; an entry may match a pin in them",
            report.errors.len(),
            root.display()
        );
    }
    Ok(out)
}
