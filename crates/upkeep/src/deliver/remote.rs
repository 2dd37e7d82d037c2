//! Git's network operations — `ls-remote`, `fetch`, `push` — run by the `git` program, so
//! libgit2 does only local work (no OpenSSL, no CA store loaded on every bump) and every
//! transport, credential helper and `~/.ssh/config` an operator set up for git works as it
//! does in a shell.
//!
//! The child's environment is cleared and rebuilt: what git needs to run and to reach a
//! remote (PATH, HOME, locale, the ssh agent, `GIT_SSH_COMMAND`, proxies and CA bundles),
//! and, for HTTPS, the token in `GIT_TOKEN` (else `GITHUB_TOKEN`) handed over through a
//! credential helper set by `GIT_CONFIG_*` variables — never on the command line, where
//! `ps` would show it. No other secret (Slack, Woodpecker, serve tokens) reaches git.
//! Repository hooks (`pre-push`) run as they do for any push: an operator who installed one
//! expects it to guard every push, upkeep's too.

use crate::child_env::{self, Child};
use anyhow::{Context, anyhow, bail};
use std::ffi::OsString;
use std::path::Path;
use std::process::{Command, Output, Stdio};

/// The credential helper that answers with the token in the child's `GIT_TOKEN`, only for an
/// HTTPS remote, and only on `UPKEEP_GIT_TOKEN_HOST` when that is set: git tells a helper the
/// protocol and host it asks for (`protocol=https`, `host=…` lines on its input).
const TOKEN_HELPER: &str = "!f() { test \"$1\" = get || return 0; p=; h=; while IFS='=' read -r k v; do case \"$k\" in protocol) p=$v;; host) h=$v;; esac; done; test \"$p\" = https || return 0; test -z \"$UPKEEP_GIT_TOKEN_HOST\" || test \"$h\" = \"$UPKEEP_GIT_TOKEN_HOST\" || return 0; echo username=x-access-token; echo \"password=$GIT_TOKEN\"; }; f";

/// The token for HTTPS remotes and the one host it may go to: `GIT_TOKEN` (the operator's
/// token for their git host, any host), else `GITHUB_TOKEN` (for github.com only — it is a
/// GitHub credential, and the remote may be a Forgejo or a GitLab).
fn token() -> Option<(OsString, Option<&'static str>)> {
    let set = |name: &str| std::env::var_os(name).filter(|token| !token.is_empty());
    set("GIT_TOKEN")
        .map(|token| (token, None))
        .or_else(|| set("GITHUB_TOKEN").map(|token| (token, Some("github.com"))))
}

/// The variables that hand `token` to git through [`TOKEN_HELPER`].
fn credential_env(token: OsString, host: Option<&str>) -> Vec<(&'static str, OsString)> {
    // An empty helper first clears the configured list, so the token is what is used.
    let mut env = vec![
        ("GIT_TOKEN", token),
        ("GIT_CONFIG_COUNT", "2".into()),
        ("GIT_CONFIG_KEY_0", "credential.helper".into()),
        ("GIT_CONFIG_VALUE_0", "".into()),
        ("GIT_CONFIG_KEY_1", "credential.helper".into()),
        ("GIT_CONFIG_VALUE_1", TOKEN_HELPER.into()),
    ];
    if let Some(host) = host {
        env.push(("UPKEEP_GIT_TOKEN_HOST", host.into()));
    }
    env
}

/// `git` with a minimal environment, in `dir` when given. Prompts are off: a missing
/// credential fails at once instead of waiting for a terminal that is not there.
pub fn git(dir: Option<&Path>) -> Command {
    let mut command = Command::new("git");
    command.env_clear().envs(child_env::of(Child::Git));
    command
        .env("GIT_TERMINAL_PROMPT", "0")
        .env("GIT_ASKPASS", "")
        .env("SSH_ASKPASS", "");
    if let Some((token, host)) = token() {
        command.envs(credential_env(token, host));
    }
    if let Some(dir) = dir {
        command.arg("-C").arg(dir);
    }
    command.args(["-c", "gc.auto=0", "-c", "maintenance.auto=false"]);
    command.stdin(Stdio::null());
    command
}

/// Runs `command`; its output, or an error with the last line git printed.
fn run(mut command: Command, what: &str) -> anyhow::Result<Output> {
    let output = command
        .output()
        .with_context(|| format!("cannot run git to {what} (is git installed and on PATH?)"))?;
    if !output.status.success() {
        bail!("cannot {what}: {}", last_line(&output.stderr));
    }
    Ok(output)
}

/// The last line git printed, with any credentials in a URL masked.
fn last_line(stderr: &[u8]) -> String {
    let text = String::from_utf8_lossy(stderr);
    let line = text
        .lines()
        .map(str::trim)
        .rfind(|l| !l.is_empty())
        .unwrap_or("git failed");
    redact(line)
}

/// `scheme://user:secret@host` → `scheme://***@host`.
fn redact(line: &str) -> String {
    static CREDENTIALS: std::sync::LazyLock<regex::Regex> =
        std::sync::LazyLock::new(|| regex::Regex::new(r"://[^/@\s]+@").expect("valid regex"));
    CREDENTIALS.replace_all(line, "://***@").into_owned()
}

/// The refs `remote` (a remote's name, or a URL) advertises under `patterns`, as
/// `(sha, ref)` pairs, without fetching anything.
pub fn ls_remote(
    dir: Option<&Path>,
    remote: &str,
    patterns: &[&str],
) -> anyhow::Result<Vec<(String, String)>> {
    let mut command = git(dir);
    command.args(["ls-remote", "--", remote]).args(patterns);
    let output = run(command, &format!("list the refs of `{}`", redact(remote)))?;
    Ok(String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|line| {
            let (sha, name) = line.split_once('\t')?;
            Some((sha.to_owned(), name.to_owned()))
        })
        .collect())
}

/// Fetches `branch` of `remote` into `refs/remotes/REMOTE/BRANCH` (no tags).
pub fn fetch(dir: &Path, remote: &str, branch: &str) -> anyhow::Result<()> {
    let mut command = git(Some(dir));
    command.args([
        "fetch",
        "--quiet",
        "--no-tags",
        "--no-write-fetch-head",
        "--",
        remote,
        &format!("+refs/heads/{branch}:refs/remotes/{remote}/{branch}"),
    ]);
    run(command, &format!("fetch `{branch}` from `{remote}`"))?;
    Ok(())
}

/// How a push ended.
#[derive(Debug, PartialEq, Eq)]
pub enum Pushed {
    /// The remote took it.
    Accepted,
    /// The remote has commits we do not (someone pushed first); the reason git gave.
    Behind(String),
}

/// Pushes commit `sha` as `branch` of `remote` — that commit and its ancestors the remote
/// lacks, nothing else; never forced.
pub fn push(dir: &Path, remote: &str, sha: &str, branch: &str) -> anyhow::Result<Pushed> {
    let mut command = git(Some(dir));
    command.args([
        "push",
        "--porcelain",
        "--",
        remote,
        &format!("{sha}:refs/heads/{branch}"),
    ]);
    let output = command
        .output()
        .context("cannot run git to push (is git installed and on PATH?)")?;
    if output.status.success() {
        return Ok(Pushed::Accepted);
    }
    let stdout = String::from_utf8_lossy(&output.stdout);
    let rejected = stdout
        .lines()
        .find(|line| line.starts_with('!'))
        .map(|line| line.rsplit('\t').next().unwrap_or(line).to_owned());
    match rejected {
        // The remote moved: before the push (`fetch first`, `non-fast-forward`), or while it
        // was under way (the ref changed under the server's compare-and-swap).
        Some(reason)
            if [
                "fetch first",
                "non-fast-forward",
                "failed to update ref",
                "cannot lock ref",
            ]
            .iter()
            .any(|known| reason.contains(known)) =>
        {
            Ok(Pushed::Behind(reason))
        }
        Some(reason) => Err(anyhow!(
            "`{remote}` refused the push: {reason} ({})",
            last_line(&output.stderr)
        )),
        None => Err(anyhow!(
            "cannot push to `{remote}`: {}",
            last_line(&output.stderr)
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::{credential_env, redact};
    use std::io::Write;
    use std::process::{Command, Stdio};

    /// What `git credential fill` answers for `request` with the token handed over.
    fn fill(host: Option<&str>, request: &str) -> String {
        let mut child = Command::new("git")
            .args(["credential", "fill"])
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", "/nonexistent")
            .env("GIT_TERMINAL_PROMPT", "0")
            .envs(credential_env("tok-123".into(), host))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("git runs");
        child
            .stdin
            .take()
            .unwrap()
            .write_all(request.as_bytes())
            .unwrap();
        let output = child.wait_with_output().unwrap();
        String::from_utf8_lossy(&output.stdout).into_owned()
    }

    #[test]
    fn the_token_goes_only_to_https_and_a_github_token_only_to_github() {
        let https = "protocol=https\nhost=git.example.org\n\n";
        assert!(fill(None, https).contains("password=tok-123"));
        assert!(!fill(None, "protocol=http\nhost=git.example.org\n\n").contains("tok-123"));
        assert!(!fill(Some("github.com"), https).contains("tok-123"));
        assert!(
            fill(Some("github.com"), "protocol=https\nhost=github.com\n\n")
                .contains("password=tok-123")
        );
    }

    #[test]
    fn credentials_in_urls_are_masked() {
        assert_eq!(
            redact("fatal: unable to access 'https://bot:ghp_abc@git.example.org/x.git/'"),
            "fatal: unable to access 'https://***@git.example.org/x.git/'"
        );
    }
}
