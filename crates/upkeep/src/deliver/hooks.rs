//! Pre-upgrade hooks (a database backup): argument arrays run without a shell, with the
//! stack's placeholders filled in, each under a timeout, their output captured, and only the
//! environment their config lists (see [`crate::child_env`]).

use crate::child_env::{self, Child};
use crate::config::Hook;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// What a hook did.
#[derive(Debug, Clone, serde::Serialize)]
pub struct HookRun {
    /// The command as run (placeholders filled in).
    pub command: Vec<String>,
    /// Whether it exited 0 within its timeout.
    pub ok: bool,
    /// Exit status, output tail or the reason it did not run.
    pub detail: String,
    /// Seconds it took.
    pub seconds: f64,
}

/// Runs the hooks in order for `stack`; stops at the first failure.
pub fn run_all(hooks: &[Hook], stack: &str, namespace: &str, epoch: u64) -> Vec<HookRun> {
    let mut runs = Vec::new();
    for hook in hooks {
        let command: Vec<String> = hook
            .command
            .iter()
            .map(|arg| {
                arg.replace("{stack}", stack)
                    .replace("{namespace}", namespace)
                    .replace("{epoch}", &epoch.to_string())
            })
            .collect();
        let run = run_one(
            command,
            Duration::from_secs(hook.timeout_seconds),
            &hook.env,
        );
        let ok = run.ok;
        runs.push(run);
        if !ok {
            break;
        }
    }
    runs
}

fn run_one(command: Vec<String>, timeout: Duration, env: &[String]) -> HookRun {
    let started = Instant::now();
    let finish = |ok, detail: String| HookRun {
        command: command.clone(),
        ok,
        detail,
        seconds: started.elapsed().as_secs_f64(),
    };
    let Some((program, args)) = command.split_first() else {
        return finish(false, "empty command".to_owned());
    };
    let mut child = match Command::new(program)
        .args(args)
        .env_clear()
        .envs(child_env::of(Child::Hook(env)))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
    {
        Ok(child) => child,
        Err(error) => return finish(false, format!("cannot start `{program}`: {error}")),
    };
    loop {
        match child.try_wait() {
            Ok(Some(_)) => break,
            Ok(None) if started.elapsed() >= timeout => {
                let _ = child.kill();
                let _ = child.wait();
                return finish(false, format!("timed out after {} s", timeout.as_secs()));
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(20)),
            Err(error) => return finish(false, format!("cannot wait for `{program}`: {error}")),
        }
    }
    match child.wait_with_output() {
        Ok(output) => {
            let text = String::from_utf8_lossy(&output.stdout).into_owned()
                + &String::from_utf8_lossy(&output.stderr);
            let tail: String = text.trim().lines().last().unwrap_or_default().to_owned();
            let detail = if output.status.success() {
                tail
            } else {
                format!("{} ({tail})", output.status)
            };
            finish(output.status.success(), detail)
        }
        Err(error) => finish(
            false,
            format!("cannot read the output of `{program}`: {error}"),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::run_all;
    use crate::config::Hook;

    fn hook(command: &[&str], timeout_seconds: u64) -> Hook {
        Hook {
            command: command.iter().map(|c| (*c).to_owned()).collect(),
            timeout_seconds,
            env: Vec::new(),
        }
    }

    #[test]
    fn placeholders_are_filled_and_a_failure_stops_the_rest() {
        let runs = run_all(
            &[
                hook(&["echo", "{stack}/{namespace}/{epoch}"], 5),
                hook(&["false"], 5),
                hook(&["echo", "never"], 5),
            ],
            "immich",
            "photos",
            1_795_000_000,
        );
        assert_eq!(runs.len(), 2);
        assert!(runs[0].ok);
        assert_eq!(runs[0].detail, "immich/photos/1795000000");
        assert!(!runs[1].ok);
    }

    #[test]
    fn a_hook_past_its_timeout_is_killed_and_failed() {
        let runs = run_all(&[hook(&["sleep", "30"], 1)], "immich", "immich", 0);
        assert!(!runs[0].ok);
        assert_eq!(runs[0].detail, "timed out after 1 s");
        assert!(runs[0].seconds < 5.0);
    }
}
