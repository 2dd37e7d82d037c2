//! The environment of every process upkeep starts, decided in one place. A child never simply
//! inherits upkeep's environment, which holds GitHub, git, Woodpecker and Slack tokens, registry
//! passwords and, in `serve`, the service's own bearer tokens.
//!
//! - A **hook** (`hooks.pre_upgrade`) gets the [`BASE`] names and the names its config lists
//!   under `env:`, nothing else.
//! - A **bump** started by `serve` gets the base, what a bump itself uses ([`BUMP`]: GitHub,
//!   git, Woodpecker, Slack, the registry credentials its plan reads an image's source label
//!   with, proxies, upkeep's own settings) and the names its hooks list, so it can pass them
//!   on; never the service's tokens.
//! - A **tool** upkeep runs for the user — `kubectl`, a Docker credential helper — gets the
//!   environment upkeep has, less upkeep's own secrets ([`SECRETS`]): such tools read settings
//!   of their own (a kubeconfig's exec plugin, a password store) that upkeep cannot list.
//!
//! `UPKEEP_SERVE_TOKENS` reaches no child, whatever a config lists.

use std::ffi::{OsStr, OsString};

/// What every child gets: where programs are, who and where the user is, the locale, the
/// cluster (kubeconfig, or the in-cluster service's address), the CA bundle. `LC_*` too.
pub const BASE: [&str; 14] = [
    "PATH",
    "HOME",
    "USER",
    "LOGNAME",
    "LANG",
    "LANGUAGE",
    "TZ",
    "TMPDIR",
    "TERM",
    "KUBECONFIG",
    "KUBERNETES_SERVICE_HOST",
    "KUBERNETES_SERVICE_PORT",
    "SSL_CERT_FILE",
    "SSL_CERT_DIR",
];

/// What a bump uses besides the base (`GIT_*` too: git's own settings and `GIT_TOKEN`; the
/// registry credentials, since `plan` reads an image's source label from its registry).
pub const BUMP: [&str; 25] = [
    "GITHUB_TOKEN",
    "GITHUB_API_URL",
    "WOODPECKER_SERVER",
    "WOODPECKER_TOKEN",
    "SLACK_WEBHOOK_URL",
    "DOCKER_CONFIG",
    "UPKEEP_REGISTRY_USERNAME",
    "UPKEEP_REGISTRY_PASSWORD",
    "UPKEEP_REGISTRY_HOSTS",
    "UPKEEP_CONFIG",
    "UPKEEP_VIRTUAL_CLOCK",
    "RUST_LOG",
    "NO_COLOR",
    "XDG_CACHE_HOME",
    "XDG_STATE_HOME",
    "XDG_CONFIG_HOME",
    "SSH_AUTH_SOCK",
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "ALL_PROXY",
    "NO_PROXY",
    "http_proxy",
    "https_proxy",
    "all_proxy",
    "no_proxy",
];

/// Upkeep's own secrets, kept from tools; `PLUGIN_*` too (Woodpecker hands a plugin its
/// secrets that way).
pub const SECRETS: [&str; 8] = [
    "GITHUB_TOKEN",
    "GIT_TOKEN",
    "WOODPECKER_TOKEN",
    "SLACK_WEBHOOK_URL",
    "UPKEEP_SERVE_TOKENS",
    "UPKEEP_REGISTRY_USERNAME",
    "UPKEEP_REGISTRY_PASSWORD",
    "UPKEEP_REGISTRY_HOSTS",
];

/// The one name no child ever gets.
const NEVER: &str = "UPKEEP_SERVE_TOKENS";

/// Who a child is.
#[derive(Debug, Clone, Copy)]
pub enum Child<'a> {
    /// A pre-upgrade hook, with the names its config lists.
    Hook(&'a [String]),
    /// A bump started by `serve`, with the names its hooks list.
    Bump(&'a [String]),
    /// A program acting for the user (kubectl, a credential helper).
    Tool,
}

/// The environment of `child`, from upkeep's own.
pub fn of(child: Child<'_>) -> Vec<(OsString, OsString)> {
    from(child, std::env::vars_os())
}

/// The environment of `child`, from `parent` (the variables upkeep has).
pub fn from(
    child: Child<'_>,
    parent: impl IntoIterator<Item = (OsString, OsString)>,
) -> Vec<(OsString, OsString)> {
    parent
        .into_iter()
        .filter(|(name, _)| passes(child, name))
        .collect()
}

fn passes(child: Child<'_>, name: &OsStr) -> bool {
    let Some(name) = name.to_str() else {
        return false;
    };
    if name == NEVER {
        return false;
    }
    let base = BASE.contains(&name) || name.starts_with("LC_");
    let listed = |names: &[String]| names.iter().any(|listed| listed == name);
    match child {
        Child::Hook(names) => base || listed(names),
        Child::Bump(names) => {
            base || BUMP.contains(&name) || name.starts_with("GIT_") || listed(names)
        }
        Child::Tool => !SECRETS.contains(&name) && !name.starts_with("PLUGIN_"),
    }
}

#[cfg(test)]
mod tests {
    use super::{Child, from};
    use std::ffi::OsString;

    fn parent() -> Vec<(OsString, OsString)> {
        [
            ("PATH", "/usr/bin"),
            ("HOME", "/home/ops"),
            ("LC_TIME", "de_DE.UTF-8"),
            ("KUBECONFIG", "/home/ops/.kube/config"),
            ("GITHUB_TOKEN", "ghp_x"),
            ("GIT_TOKEN", "git-x"),
            ("GIT_SSH_COMMAND", "ssh -i /keys/deploy"),
            ("WOODPECKER_TOKEN", "wp-x"),
            ("SLACK_WEBHOOK_URL", "https://hooks.slack.example/x"),
            ("UPKEEP_SERVE_TOKENS", "serve-x"),
            ("UPKEEP_REGISTRY_PASSWORD", "reg-x"),
            ("PLUGIN_TOKEN", "plugin-x"),
            ("PGPASSWORD", "pg-x"),
            ("AWS_PROFILE", "homelab"),
        ]
        .into_iter()
        .map(|(k, v)| (k.into(), v.into()))
        .collect()
    }

    fn names(child: Child<'_>) -> Vec<String> {
        from(child, parent())
            .into_iter()
            .map(|(k, _)| k.into_string().unwrap())
            .collect()
    }

    #[test]
    fn a_hook_gets_the_base_and_what_it_lists() {
        assert_eq!(
            names(Child::Hook(&[])),
            ["PATH", "HOME", "LC_TIME", "KUBECONFIG"]
        );
        let listed = ["PGPASSWORD".to_owned(), "UPKEEP_SERVE_TOKENS".to_owned()];
        assert_eq!(
            names(Child::Hook(&listed)),
            ["PATH", "HOME", "LC_TIME", "KUBECONFIG", "PGPASSWORD"],
            "the service's tokens, never"
        );
    }

    #[test]
    fn a_bump_gets_what_a_bump_uses_and_what_its_hooks_list() {
        assert_eq!(
            names(Child::Bump(&["PGPASSWORD".to_owned()])),
            [
                "PATH",
                "HOME",
                "LC_TIME",
                "KUBECONFIG",
                "GITHUB_TOKEN",
                "GIT_TOKEN",
                "GIT_SSH_COMMAND",
                "WOODPECKER_TOKEN",
                "SLACK_WEBHOOK_URL",
                "UPKEEP_REGISTRY_PASSWORD",
                "PGPASSWORD"
            ],
            "a bump reads its image's source label from the registry, with its credentials"
        );
    }

    #[test]
    fn a_tool_gets_everything_but_upkeeps_secrets() {
        assert_eq!(
            names(Child::Tool),
            [
                "PATH",
                "HOME",
                "LC_TIME",
                "KUBECONFIG",
                "GIT_SSH_COMMAND",
                "PGPASSWORD",
                "AWS_PROFILE"
            ]
        );
    }
}
