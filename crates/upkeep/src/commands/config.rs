//! `upkeep config check` and `upkeep config show`.

use crate::args::{ConfigCommand, Format};
use crate::config::Config;
use crate::output;
use crate::policy::unused_config::unused_entries;
use anyhow::Context;
use std::fmt::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use upkeep_pins::scan;

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
                None => repository_of(&path),
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

/// The repository a config file describes: the top of the git work tree holding it (a config
/// kept in a subfolder, like `.claude/reference/upgrade-config.json`, still describes the whole
/// repository), else its own folder.
fn repository_of(file: &Path) -> PathBuf {
    let folder = match file.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent.to_owned(),
        _ => PathBuf::from("."),
    };
    let Ok(absolute) = folder.canonicalize() else {
        return folder;
    };
    match absolute.ancestors().find(|dir| dir.join(".git").exists()) {
        Some(top) if top != absolute => {
            // Said relative to where the command runs when it can be.
            std::env::current_dir()
                .ok()
                .and_then(|here| here.canonicalize().ok())
                .and_then(|here| top.strip_prefix(&here).ok().map(Path::to_owned))
                .map(|rel| {
                    if rel.as_os_str().is_empty() {
                        PathBuf::from(".")
                    } else {
                        rel
                    }
                })
                .unwrap_or_else(|| top.to_owned())
        }
        _ => folder,
    }
}

/// One warning line per config entry that matches nothing in the repository at `root`.
fn unused_warnings(config: &Config, file: &Path, root: &Path) -> anyhow::Result<String> {
    let bytes =
        upkeep_pins::read_named_file(file, crate::config::MAX_CONFIG_SIZE).map_err(|error| {
            anyhow::anyhow!("cannot read config {}: {}", file.display(), error.message)
        })?;
    let text = String::from_utf8_lossy(&bytes);
    let report = scan(root, &config.scan_options())
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
