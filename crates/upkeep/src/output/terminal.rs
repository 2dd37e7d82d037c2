//! Manners on the terminal: how much is logged (`-q`, `-v`, `RUST_LOG`), whether escapes
//! and progress bars are drawn (only on a terminal, never with `NO_COLOR`), and how an error
//! is printed (once, its causes in order, no cause repeated).

use std::io::IsTerminal;
use std::sync::atomic::{AtomicBool, Ordering};
use tracing_subscriber::filter::{LevelFilter, Targets};

/// Set by `--quiet`: no progress bars.
static QUIET: AtomicBool = AtomicBool::new(false);

/// The crates whose log lines are upkeep's own; other crates' lines are shown only from
/// `-vv` on, since what they report as an error is returned to upkeep and printed once.
const OWN_CRATES: [&str; 3] = ["upkeep", "upkeep_pins", "upkeep_notes"];

/// How much to log, from the global flags.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verbosity {
    /// `--quiet`: errors only, no progress bars.
    Quiet,
    /// Neither flag: `RUST_LOG` if set, else upkeep's warnings.
    Default,
    /// `-v` given this many times (1: info, 2: debug with other crates' warnings, 3+: trace).
    Verbose(u8),
}

/// The `tracing` filter for a verbosity; `rust_log` (the environment's) applies only when
/// no flag was given.
pub fn log_filter(verbosity: Verbosity, rust_log: Option<&str>) -> String {
    let own = |level: &str| {
        OWN_CRATES
            .iter()
            .map(|name| format!("{name}={level}"))
            .collect::<Vec<_>>()
            .join(",")
    };
    match verbosity {
        Verbosity::Default => match rust_log {
            Some(filter) if !filter.trim().is_empty() => filter.to_owned(),
            _ => format!("off,{}", own("warn")),
        },
        Verbosity::Quiet => format!("off,{}", own("error")),
        Verbosity::Verbose(1) => format!("off,{}", own("info")),
        Verbosity::Verbose(2) => format!("warn,{}", own("debug")),
        Verbosity::Verbose(_) => "trace".to_owned(),
    }
}

/// Whether standard error may carry colours and other escapes: it is a terminal and
/// `NO_COLOR` is unset or empty (<https://no-color.org>).
pub fn stderr_styled() -> bool {
    std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}

/// Starts logging to standard error.
pub fn init(verbosity: Verbosity) {
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;
    QUIET.store(verbosity == Verbosity::Quiet, Ordering::Relaxed);
    let rust_log = std::env::var("RUST_LOG").ok();
    let filter = targets(verbosity, rust_log.as_deref());
    // A command's warnings read as messages (`WARN …`); a time and the module are added when
    // logs are asked for (`-v`, `RUST_LOG`: a service, a debugging session).
    let logs = verbosity != Verbosity::Quiet
        && (verbosity != Verbosity::Default || rust_log.is_some_and(|f| !f.trim().is_empty()));
    let layer = tracing_subscriber::fmt::layer()
        .with_ansi(stderr_styled())
        .with_writer(std::io::stderr);
    let registry = tracing_subscriber::registry().with(filter);
    if logs {
        registry.with(layer).init();
    } else {
        registry
            .with(layer.without_time().with_target(false))
            .init();
    }
}

/// The filter [`log_filter`] describes, as `tracing` targets and levels (`upkeep=debug,warn`).
/// `RUST_LOG`'s directives are trimmed and empty ones dropped, as `EnvFilter` did; a value
/// that filters by span or field (`[…]`, `{…}`), or does not parse, is ignored, as if unset.
///
/// `Targets`, not `EnvFilter`: the latter's `env-filter` feature turns on the building of full
/// DFAs in `regex-automata` for every crate that shares it, which made compiling a repository's
/// `.gitignore` take 15 M instructions instead of 4 M on every scan.
fn targets(verbosity: Verbosity, rust_log: Option<&str>) -> Targets {
    let rust_log = rust_log.and_then(plain_directives);
    log_filter(verbosity, rust_log.as_deref())
        .parse()
        .or_else(|_| log_filter(verbosity, None).parse())
        .unwrap_or_else(|_| Targets::new().with_default(LevelFilter::WARN))
}

/// `filter`'s directives trimmed and without empty ones; `None` if one filters by span or
/// field, which `Targets` would read as a target name.
fn plain_directives(filter: &str) -> Option<String> {
    let directives: Vec<&str> = filter
        .split(',')
        .map(str::trim)
        .filter(|directive| !directive.is_empty())
        .collect();
    if directives
        .iter()
        .any(|directive| directive.contains(['[', '{']))
    {
        return None;
    }
    Some(directives.join(","))
}

/// Whether progress bars are drawn: not with `--quiet`, and (indicatif's rule) only on a
/// terminal.
pub fn progress_allowed() -> bool {
    !QUIET.load(Ordering::Relaxed) && stderr_styled()
}

/// An error and its causes on one line, `a: b: c`, leaving out a cause whose text the line
/// already holds (a wrapper that quotes its source would otherwise print it twice).
pub fn error_line(error: &anyhow::Error) -> String {
    let mut line = String::new();
    for cause in error.chain() {
        let text = cause.to_string();
        let text = text.trim();
        if text.is_empty() || line.contains(text) {
            continue;
        }
        if !line.is_empty() {
            line.push_str(": ");
        }
        line.push_str(text);
    }
    line
}

#[cfg(test)]
mod tests {
    use super::{Targets, Verbosity, error_line, log_filter, targets};

    #[test]
    fn a_cause_already_quoted_is_not_printed_again() {
        let error = anyhow::anyhow!("client error (Connect)")
            .context("Service Error: client error (Connect)")
            .context("cannot reach http://127.0.0.1:9/repos/x/y");
        assert_eq!(
            error_line(&error),
            "cannot reach http://127.0.0.1:9/repos/x/y: Service Error: client error (Connect)"
        );
        let plain = anyhow::anyhow!("refused").context("push");
        assert_eq!(error_line(&plain), "push: refused");
    }

    #[test]
    fn flags_win_over_rust_log_and_other_crates_stay_quiet_by_default() {
        assert_eq!(log_filter(Verbosity::Default, Some("debug")), "debug");
        let default = log_filter(Verbosity::Default, None);
        assert!(default.starts_with("off,") && default.contains("upkeep=warn"));
        assert!(log_filter(Verbosity::Quiet, Some("debug")).contains("upkeep=error"));
        assert!(log_filter(Verbosity::Verbose(1), None).contains("upkeep_notes=info"));
        assert!(log_filter(Verbosity::Verbose(2), None).starts_with("warn,"));
        assert_eq!(log_filter(Verbosity::Verbose(5), None), "trace");
    }

    #[test]
    fn every_filter_applies_as_written_and_a_malformed_rust_log_is_ignored() {
        use tracing::Level;
        let verbosities = [
            Verbosity::Quiet,
            Verbosity::Default,
            Verbosity::Verbose(1),
            Verbosity::Verbose(2),
            Verbosity::Verbose(3),
        ];
        for verbosity in verbosities {
            let filter = log_filter(verbosity, None);
            assert!(filter.parse::<Targets>().is_ok(), "{filter}");
        }
        let default = targets(Verbosity::Default, None);
        assert!(default.would_enable("upkeep_pins::scan", &Level::WARN));
        assert!(!default.would_enable("upkeep_pins::scan", &Level::INFO));
        assert!(!default.would_enable("hyper::client", &Level::ERROR));
        let debug = targets(Verbosity::Verbose(2), None);
        assert!(debug.would_enable("upkeep::commands::bump", &Level::DEBUG));
        assert!(debug.would_enable("hyper::client", &Level::WARN));
        assert!(!debug.would_enable("hyper::client", &Level::INFO));
        let asked = targets(Verbosity::Default, Some("upkeep_pins=debug,info"));
        assert!(asked.would_enable("upkeep_pins::scan", &Level::DEBUG));
        assert!(asked.would_enable("hyper::client", &Level::INFO));
        // Blanks and empty directives, as EnvFilter took them.
        let spaced = targets(Verbosity::Default, Some(" warn , upkeep=debug,"));
        assert!(spaced.would_enable("upkeep::commands", &Level::DEBUG));
        assert!(spaced.would_enable("hyper::client", &Level::WARN));
        assert!(!spaced.would_enable("hyper::client", &Level::INFO));
        // Not a level, or a span or field filter: the default applies, not silence.
        for malformed in ["upkeep=loud", "upkeep[scan]=debug", "[{a=1}]=trace"] {
            let filter = targets(Verbosity::Default, Some(malformed));
            assert!(
                filter.would_enable("upkeep::commands", &Level::WARN),
                "{malformed}"
            );
            assert!(
                !filter.would_enable("upkeep::commands", &Level::INFO),
                "{malformed}"
            );
            assert!(
                !filter.would_enable("hyper::client", &Level::ERROR),
                "{malformed}"
            );
        }
    }
}
