//! The repository side of a bump, with git2: refuse a dirty tree or a detached HEAD, commit
//! exactly the edited files, push without ever forcing (rebasing the commit onto a newer tip
//! and retrying when someone pushed first), and revert one commit.

use anyhow::{Context, anyhow, bail};
use git2::{
    Cred, CredentialType, FetchOptions, Oid, PushOptions, RemoteCallbacks, Repository, ResetType,
    Signature, StatusOptions,
};
use std::cell::Cell;
use std::path::{Path, PathBuf};

/// Push attempts before giving up on a remote that keeps moving.
const PUSH_ATTEMPTS: usize = 3;

/// The trailer naming upkeep in every commit it makes.
pub const TRAILER: &str = "Co-Authored-By: upkeep <upkeep@users.noreply.invalid>";

/// A working copy on a branch.
pub struct Git {
    repo: Repository,
    branch: String,
    remote: String,
}

impl Git {
    /// Opens the repository holding `path`, on its current branch, pushing to `remote`.
    /// Refuses a detached HEAD and a working tree with changes (untracked files included):
    /// the commit must hold the upgrade and nothing else. `own` is upkeep's own state file
    /// (the rate limit), which is never committed and does not count as a change.
    pub fn open(path: &Path, remote: &str, own: Option<&Path>) -> anyhow::Result<Git> {
        let repo = Repository::discover(path)
            .with_context(|| format!("{} is not in a git repository", path.display()))?;
        if repo.head_detached().unwrap_or(false) {
            bail!(
                "HEAD is detached; check out the branch the CI applies (e.g. `git switch main`) first"
            );
        }
        let head = repo.head().context("the repository has no commit yet")?;
        let branch = head
            .shorthand()
            .map_err(|_| anyhow!("the current branch name is not UTF-8"))?
            .to_owned();
        drop(head);
        let git = Git {
            repo,
            branch,
            remote: remote.to_owned(),
        };
        let own = own.and_then(|own| {
            let workdir = std::fs::canonicalize(git.repo.workdir()?).ok()?;
            let own = std::fs::canonicalize(own.parent()?)
                .ok()?
                .join(own.file_name()?);
            own.strip_prefix(workdir).ok().map(Path::to_owned)
        });
        let dirty: Vec<String> = git
            .changes()?
            .into_iter()
            .filter(|path| {
                own.as_ref()
                    .is_none_or(|own| !own.starts_with(path) && Path::new(path) != own)
            })
            .collect();
        if !dirty.is_empty() {
            bail!(
                "the working tree has changes; commit or stash them first:\n  {}",
                dirty.join("\n  ")
            );
        }
        Ok(git)
    }

    /// The working tree's root.
    pub fn root(&self) -> PathBuf {
        self.repo
            .workdir()
            .map_or_else(|| PathBuf::from("."), Path::to_owned)
    }

    /// The branch checked out.
    pub fn branch(&self) -> &str {
        &self.branch
    }

    /// Paths with uncommitted changes, untracked files included.
    fn changes(&self) -> anyhow::Result<Vec<String>> {
        let mut options = StatusOptions::new();
        options.include_untracked(true).include_ignored(false);
        let statuses = self.repo.statuses(Some(&mut options))?;
        Ok(statuses
            .iter()
            .filter(|entry| !entry.status().is_empty())
            .map(|entry| entry.path().unwrap_or("?").to_owned())
            .collect())
    }

    /// The commit `spec` names (a full or abbreviated SHA), if it exists.
    pub fn resolve(&self, spec: &str) -> Option<Oid> {
        self.repo
            .revparse_single(spec)
            .ok()?
            .peel_to_commit()
            .ok()
            .map(|commit| commit.id())
    }

    /// The files commit `sha` changed, relative to the root.
    pub fn changed_files(&self, sha: Oid) -> anyhow::Result<Vec<PathBuf>> {
        let commit = self.repo.find_commit(sha)?;
        let parent = commit.parent(0).ok().map(|p| p.tree()).transpose()?;
        let diff = self
            .repo
            .diff_tree_to_tree(parent.as_ref(), Some(&commit.tree()?), None)?;
        Ok(diff
            .deltas()
            .filter_map(|delta| delta.new_file().path().map(Path::to_owned))
            .collect())
    }

    /// Commits exactly `files` (relative to the root) with `message`, as `author` if given,
    /// else as git's configured user.
    pub fn commit(
        &self,
        files: &[PathBuf],
        message: &str,
        author: Option<&(String, String)>,
    ) -> anyhow::Result<Oid> {
        let mut index = self.repo.index()?;
        for file in files {
            index
                .add_path(file)
                .with_context(|| format!("cannot stage {}", file.display()))?;
        }
        index.write()?;
        let tree = self.repo.find_tree(index.write_tree()?)?;
        let parent = self.repo.head()?.peel_to_commit()?;
        let signature = self.signature(author)?;
        let oid = self.repo.commit(
            Some("HEAD"),
            &signature,
            &signature,
            message,
            &tree,
            &[&parent],
        )?;
        Ok(oid)
    }

    fn signature(&self, author: Option<&(String, String)>) -> anyhow::Result<Signature<'static>> {
        match author {
            Some((name, email)) => Ok(Signature::now(name, email)?),
            None => self
                .repo
                .signature()
                .map(|s| s.to_owned())
                .or_else(|_| Signature::now("upkeep", "upkeep@users.noreply.invalid"))
                .context(
                    "no commit author: set user.name and user.email, or `git.author` in the config",
                ),
        }
    }

    /// Brings the branch to the remote's tip before anything is read: fetches, and when the
    /// branch is only behind, moves it and the (clean) tree there. Returns the new tip, or
    /// `None` when there was nothing to do or the branch has commits of its own (they go out
    /// with the next push).
    pub fn sync(&self) -> anyhow::Result<Option<Oid>> {
        let tip = self.fetch()?;
        let head = self.repo.head()?.peel_to_commit()?.id();
        if head == tip || !self.repo.graph_descendant_of(tip, head)? {
            return Ok(None);
        }
        let object = self.repo.find_object(tip, None)?;
        self.repo.reset(&object, ResetType::Hard, None)?;
        Ok(Some(tip))
    }

    /// Pushes the branch. When the remote moved on (someone pushed first), fetches, replays
    /// `ours` onto the new tip and tries again, at most [`PUSH_ATTEMPTS`] times; never
    /// forces. Returns the SHA that was pushed (a new one after a rebase).
    pub fn push(&self, ours: Oid) -> anyhow::Result<Oid> {
        let mut ours = ours;
        for attempt in 1..=PUSH_ATTEMPTS {
            match self.try_push()? {
                None => return Ok(ours),
                Some(rejection) => {
                    tracing::info!(attempt, %rejection, "push rejected; rebasing the upgrade commit onto the new tip");
                    if attempt == PUSH_ATTEMPTS {
                        bail!(
                            "push rejected {PUSH_ATTEMPTS} times ({rejection}); nothing was forced"
                        );
                    }
                    let tip = self.fetch()?;
                    ours = self.replay(ours, tip)?;
                }
            }
        }
        unreachable!("the loop returns or bails")
    }

    /// One push: `None` when accepted, else the remote's reason.
    fn try_push(&self) -> anyhow::Result<Option<String>> {
        let mut remote = self
            .repo
            .find_remote(&self.remote)
            .with_context(|| format!("no remote `{}`", self.remote))?;
        let rejection = Cell::new(None::<String>);
        let mut callbacks = credentials(self.repo.config().ok());
        callbacks.push_update_reference(|_reference, status| {
            if let Some(status) = status {
                rejection.set(Some(status.to_owned()));
            }
            Ok(())
        });
        let mut options = PushOptions::new();
        options.remote_callbacks(callbacks);
        let refspec = format!("refs/heads/{0}:refs/heads/{0}", self.branch);
        match remote.push(&[refspec.as_str()], Some(&mut options)) {
            Ok(()) => Ok(rejection.take()),
            Err(error) if error.code() == git2::ErrorCode::NotFastForward => {
                Ok(Some(error.message().to_owned()))
            }
            Err(error) => Err(error).context(format!("cannot push to `{}`", self.remote)),
        }
    }

    /// Fetches the branch and returns the remote's tip.
    fn fetch(&self) -> anyhow::Result<Oid> {
        let mut remote = self.repo.find_remote(&self.remote)?;
        let mut options = FetchOptions::new();
        options.remote_callbacks(credentials(self.repo.config().ok()));
        remote
            .fetch(&[self.branch.as_str()], Some(&mut options), None)
            .with_context(|| format!("cannot fetch from `{}`", self.remote))?;
        let tip = self
            .repo
            .find_reference("FETCH_HEAD")?
            .peel_to_commit()?
            .id();
        Ok(tip)
    }

    /// Re-applies commit `ours` on top of `onto` (same message and author), moves the branch
    /// there and returns the new commit. A conflict stops: the upgrade is not merged by guess.
    fn replay(&self, ours: Oid, onto: Oid) -> anyhow::Result<Oid> {
        let commit = self.repo.find_commit(ours)?;
        let base = self.repo.find_commit(onto)?;
        let mut index = self.repo.cherrypick_commit(&commit, &base, 0, None)?;
        if index.has_conflicts() {
            bail!("the upgrade conflicts with what was pushed meanwhile; nothing was pushed");
        }
        let tree = self.repo.find_tree(index.write_tree_to(&self.repo)?)?;
        let new = self.repo.commit(
            None,
            &commit.author(),
            &commit.committer(),
            commit.message().unwrap_or_default(),
            &tree,
            &[&base],
        )?;
        let object = self.repo.find_object(new, None)?;
        self.repo.reset(&object, ResetType::Hard, None)?;
        Ok(new)
    }

    /// Reverts commit `sha` on top of HEAD (whatever was committed after it), with git's
    /// message, and returns the revert commit.
    pub fn revert(&self, sha: Oid, author: Option<&(String, String)>) -> anyhow::Result<Oid> {
        let commit = self
            .repo
            .find_commit(sha)
            .with_context(|| format!("no commit {sha}"))?;
        let head = self.repo.head()?.peel_to_commit()?;
        let mut index = self.repo.revert_commit(&commit, &head, 0, None)?;
        if index.has_conflicts() {
            bail!("reverting {sha} conflicts with later commits; revert it by hand");
        }
        let tree = self.repo.find_tree(index.write_tree_to(&self.repo)?)?;
        let summary = commit.summary().ok().flatten().unwrap_or_default();
        let message = format!("Revert \"{summary}\"\n\nThis reverts commit {sha}.\n\n{TRAILER}\n");
        let signature = self.signature(author)?;
        let new = self.repo.commit(
            Some("HEAD"),
            &signature,
            &signature,
            &message,
            &tree,
            &[&head],
        )?;
        let object = self.repo.find_object(new, None)?;
        self.repo.reset(&object, ResetType::Hard, None)?;
        Ok(new)
    }
}

/// The tags of the repository at `url` (`git ls-remote --tags`), without cloning it.
pub fn remote_tags(url: &str) -> anyhow::Result<Vec<String>> {
    let mut remote =
        git2::Remote::create_detached(url).with_context(|| format!("`{url}` is not a git URL"))?;
    let connection = remote
        .connect_auth(
            git2::Direction::Fetch,
            Some(credentials(git2::Config::open_default().ok())),
            None,
        )
        .with_context(|| format!("cannot reach {url}"))?;
    let mut tags: Vec<String> = connection
        .list()?
        .iter()
        .filter_map(|head| head.name().strip_prefix("refs/tags/"))
        .map(|tag| tag.trim_end_matches("^{}").to_owned())
        .collect();
    tags.sort();
    tags.dedup();
    Ok(tags)
}

/// Credentials from the usual sources, tried once each: the ssh agent, a token in
/// `GIT_TOKEN` (else `GITHUB_TOKEN`) for HTTPS, git's credential helpers (of `config`).
/// Nothing is printed.
fn credentials(config: Option<git2::Config>) -> RemoteCallbacks<'static> {
    let tried = Cell::new(0u8);
    let mut callbacks = RemoteCallbacks::new();
    callbacks.credentials(move |url, username, allowed| {
        let attempt = tried.get();
        tried.set(attempt + 1);
        if attempt >= 3 {
            return Err(git2::Error::from_str("no credentials were accepted"));
        }
        if allowed.contains(CredentialType::SSH_KEY) {
            return Cred::ssh_key_from_agent(username.unwrap_or("git"));
        }
        if allowed.contains(CredentialType::USER_PASS_PLAINTEXT) {
            let token = std::env::var("GIT_TOKEN")
                .or_else(|_| std::env::var("GITHUB_TOKEN"))
                .ok()
                .filter(|token| !token.is_empty());
            if let (Some(token), 0) = (token, attempt) {
                return Cred::userpass_plaintext(username.unwrap_or("x-access-token"), &token);
            }
            if let Some(config) = &config {
                return Cred::credential_helper(config, url, username);
            }
        }
        Cred::default()
    });
    callbacks
}
