//! `upkeep config check` and `upkeep config show`.

use crate::args::{ConfigCommand, Format};
use crate::config::Config;
use crate::output;
use std::path::Path;
use std::process::ExitCode;

/// Runs a `config` subcommand.
pub fn run(command: &ConfigCommand, config_file: Option<&Path>) -> anyhow::Result<ExitCode> {
    match command {
        ConfigCommand::Check { file } => {
            let explicit = file.as_deref().or(config_file);
            let (_, path) = Config::load(explicit, Path::new("."))?;
            let message = match path {
                Some(path) => format!("{}: valid\n", path.display()),
                None => "no config file found; the defaults apply\n".to_owned(),
            };
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
