//! The repository side of a bump: refuse a dirty tree or a detached HEAD; before anything is
//! read, fetch and compare with the remote (fast-forward when merely behind, refuse local
//! commits that are not upkeep's own); commit exactly the edited files; push only upkeep's
//! own commits, never forcing, replaying them onto a newer tip when someone pushed first;
//! revert one commit.
//!
//! Local work is libgit2's; the network is the `git` program's ([`crate::deliver::remote`]).
//! Every commit upkeep makes carries the trailer [`OWN_TRAILER`] with a fingerprint of its
//! change: a commit is upkeep's own when the fingerprint still matches what it changes, so an
//! amended upkeep commit, or anyone else's, is never pushed by upkeep.

use crate::deliver::remote::{self, Pushed};
use anyhow::{Context, anyhow, bail};
use git2::build::CheckoutBuilder;
use git2::{Oid, Repository, Signature, Sort, StatusOptions};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};

/// Push attempts before giving up on a remote that keeps moving.
const PUSH_ATTEMPTS: usize = 3;

/// The trailer naming upkeep in every commit it makes.
pub const TRAILER: &str = "Co-Authored-By: upkeep <upkeep@users.noreply.invalid>";

/// The trailer that marks a commit as upkeep's own: `Upkeep-Change: <fingerprint>`.
pub const OWN_TRAILER: &str = "Upkeep-Change";

/// Where the branch stood against the remote, and what was done about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Aligned {
    /// The branch is the remote's tip.
    UpToDate,
    /// The branch was behind and was moved to the remote's tip.
    FastForwarded {
        /// The tip before.
        from: Oid,
        /// The remote's tip.
        to: Oid,
    },
    /// The branch holds upkeep's own unpushed commits (`abc1234 subject`), replayed onto the
    /// remote's tip when it had moved; they go out with the next push.
    Own(Vec<String>),
}

impl Aligned {
    /// What the report says.
    pub fn describe(&self) -> String {
        match self {
            Aligned::UpToDate => "up to date with the remote".to_owned(),
            Aligned::FastForwarded { from, to } => {
                format!(
                    "fast-forwarded {:.7} -> {:.7}",
                    from.to_string(),
                    to.to_string()
                )
            }
            Aligned::Own(lines) => format!(
                "{} earlier upkeep commit(s) not yet pushed go out with this push: {}",
                lines.len(),
                lines.join("; ")
            ),
        }
    }
}

/// What a push sent.
#[derive(Debug, Clone)]
pub struct Push {
    /// The branch's new tip on the remote.
    pub sha: Oid,
    /// The commits pushed (`abc1234 subject`), oldest first.
    pub commits: Vec<String>,
}

/// Fetching a branch of a remote with the `git` program, into its remote-tracking ref (see
/// [`Git::fetch_job`]).
pub struct FetchJob {
    root: PathBuf,
    remote: String,
    branch: String,
}

impl FetchJob {
    /// Runs the fetch; touches nothing but the repository's objects and the tracking ref.
    pub fn run(&self) -> anyhow::Result<()> {
        remote::fetch(&self.root, &self.remote, &self.branch)
    }
}

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
        let git = Git::discover(path, remote)?;
        let dirty = git.changes_except(own)?;
        if !dirty.is_empty() {
            bail!(
                "the working tree has changes; commit or stash them first:\n  {}",
                dirty.join("\n  ")
            );
        }
        Ok(git)
    }

    /// Opens the repository holding `path` on its current branch (a detached HEAD is
    /// refused), whatever its working tree holds.
    pub fn discover(path: &Path, remote: &str) -> anyhow::Result<Git> {
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
        Ok(Git {
            repo,
            branch,
            remote: remote.to_owned(),
        })
    }

    /// Paths with uncommitted changes (untracked files included), except upkeep's own state
    /// file `own`.
    pub fn changes_except(&self, own: Option<&Path>) -> anyhow::Result<Vec<String>> {
        let own = own.and_then(|own| {
            let workdir = std::fs::canonicalize(self.repo.workdir()?).ok()?;
            let own = std::fs::canonicalize(own.parent()?)
                .ok()?
                .join(own.file_name()?);
            own.strip_prefix(workdir).ok().map(Path::to_owned)
        });
        Ok(self
            .changes()?
            .into_iter()
            .filter(|path| {
                own.as_ref()
                    .is_none_or(|own| !own.starts_with(path) && Path::new(path) != own)
            })
            .collect())
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

    /// The commit HEAD points at.
    pub fn head(&self) -> anyhow::Result<Oid> {
        Ok(self.repo.head()?.peel_to_commit()?.id())
    }

    /// The remote pushed to.
    pub fn remote(&self) -> &str {
        &self.remote
    }

    /// Whether `ancestor` is HEAD or one of its ancestors.
    pub fn contains(&self, ancestor: Oid) -> bool {
        self.head().is_ok_and(|head| {
            head == ancestor
                || self
                    .repo
                    .graph_descendant_of(head, ancestor)
                    .unwrap_or(false)
        })
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
        if tree.id() == parent.tree_id() {
            bail!("the files to commit hold no change; no commit was made");
        }
        let signature = self.signature(author)?;
        let message = self.owned(message, &parent.tree()?, &tree)?;
        let oid = self.repo.commit(
            Some("HEAD"),
            &signature,
            &signature,
            &message,
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

    /// Fetches the branch and brings it in line with the remote before anything is read:
    /// nothing to do when equal; moved to the remote's tip when merely behind; upkeep's own
    /// unpushed commits kept (replayed onto the tip when the remote moved). Local commits
    /// that are not upkeep's are refused with their list, and nothing is changed.
    pub fn align(&self) -> anyhow::Result<Aligned> {
        self.fetch_job()?.run()?;
        self.align_fetched()
    }

    /// The fetch [`Git::align`] starts with, as a job another thread can run (the repository
    /// handle cannot cross threads): `bump` makes its plan while git fetches, then calls
    /// [`Git::align_fetched`]. Fails when the remote is not configured.
    pub fn fetch_job(&self) -> anyhow::Result<FetchJob> {
        if self.repo.find_remote(&self.remote).is_err() {
            bail!(
                "no remote `{}`; set `git.remote` in the config to the remote the CI deploys from",
                self.remote
            );
        }
        Ok(FetchJob {
            root: self.root(),
            remote: self.remote.clone(),
            branch: self.branch.clone(),
        })
    }

    /// The rest of [`Git::align`], once its [`FetchJob`] ran.
    pub fn align_fetched(&self) -> anyhow::Result<Aligned> {
        let tip = self.tracking()?;
        let head = self.head()?;
        if head == tip {
            return Ok(Aligned::UpToDate);
        }
        let ours = self.own_commits(tip, head)?;
        if ours.is_empty() {
            self.move_to(tip)?;
            return Ok(Aligned::FastForwarded {
                from: head,
                to: tip,
            });
        }
        if self.repo.graph_descendant_of(head, tip)? {
            return Ok(Aligned::Own(self.lines(&ours)?));
        }
        let kept = self.replay(&ours, tip)?;
        if kept.is_empty() {
            // Every unpushed commit of upkeep's is already on the remote (someone pushed the
            // same change): the branch is now the remote's tip.
            return Ok(Aligned::FastForwarded {
                from: head,
                to: tip,
            });
        }
        Ok(Aligned::Own(self.lines(&kept)?))
    }

    /// Compares the branch with a remote tip known from `ls-remote`, changing nothing (for
    /// `--dry-run`): what a bump would do, or the local commits it would refuse.
    pub fn standing(&self, tip: &str) -> anyhow::Result<String> {
        let head = self.head()?;
        let Some(tip) = Oid::from_str(tip)
            .ok()
            .filter(|tip| self.repo.find_commit(*tip).is_ok())
        else {
            return Ok(
                "the remote has commits not fetched yet: a bump fetches and fast-forwards first"
                    .to_owned(),
            );
        };
        if head == tip {
            return Ok(Aligned::UpToDate.describe());
        }
        let ours = self.own_commits(tip, head)?;
        Ok(match ours.is_empty() {
            true => format!("behind the remote: a bump fast-forwards to {tip:.7}"),
            false => format!(
                "{} earlier upkeep commit(s) would go out with the push: {}",
                ours.len(),
                self.lines(&ours)?.join("; ")
            ),
        })
    }

    /// Pushes HEAD: only when every commit the remote lacks is upkeep's own. When the remote
    /// moved on (someone pushed first), fetches, replays upkeep's commits onto the new tip
    /// and tries again, at most [`PUSH_ATTEMPTS`] times; never forces, never resets anything
    /// else away.
    pub fn push(&self) -> anyhow::Result<Push> {
        for attempt in 1..=PUSH_ATTEMPTS {
            let tip = self.tracking()?;
            let head = self.head()?;
            let ours = self.own_commits(tip, head)?;
            let commits = self.lines(&ours)?;
            match remote::push(&self.root(), &self.remote, &head.to_string(), &self.branch)? {
                Pushed::Accepted => {
                    self.repo
                        .reference(&self.tracking_ref(), head, true, "upkeep: pushed")?;
                    return Ok(Push { sha: head, commits });
                }
                Pushed::Behind(reason) => {
                    tracing::info!(attempt, %reason, "push rejected; replaying upkeep's commits onto the new tip");
                    if attempt == PUSH_ATTEMPTS {
                        bail!(
                            "push rejected {PUSH_ATTEMPTS} times ({reason}); nothing was forced, the commits stay local"
                        );
                    }
                    self.fetch_job()?.run()?;
                    self.replay(&ours, self.tracking()?)?;
                }
            }
        }
        unreachable!("the loop returns or bails")
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
        if tree.id() == head.tree_id() {
            bail!(
                "reverting {:.7} changes nothing: what it changed is already undone; no commit was made",
                sha.to_string()
            );
        }
        let summary = commit.summary().ok().flatten().unwrap_or_default();
        let message = format!("Revert \"{summary}\"\n\nThis reverts commit {sha}.\n\n{TRAILER}\n");
        let message = self.owned(&message, &head.tree()?, &tree)?;
        let signature = self.signature(author)?;
        let new = self
            .repo
            .commit(None, &signature, &signature, &message, &tree, &[&head])?;
        self.move_to(new)?;
        Ok(new)
    }

    /// Whether reverting `sha` on top of HEAD would change nothing: what it changed is
    /// already undone (by a revert, or by hand). A revert that conflicts changes something.
    pub fn revert_changes_nothing(&self, sha: Oid) -> anyhow::Result<bool> {
        let commit = self.repo.find_commit(sha)?;
        let head = self.repo.head()?.peel_to_commit()?;
        let mut index = self.repo.revert_commit(&commit, &head, 0, None)?;
        if index.has_conflicts() {
            return Ok(false);
        }
        Ok(index.write_tree_to(&self.repo)? == head.tree_id())
    }

    /// The newest commit after `sha` on HEAD's history whose message says it reverts `sha`
    /// (`This reverts commit <sha>.`, as `git revert` and upkeep write it).
    pub fn reverted_by(&self, sha: Oid) -> anyhow::Result<Option<Oid>> {
        let says = format!("This reverts commit {sha}");
        let mut walk = self.repo.revwalk()?;
        walk.push_head()?;
        walk.hide(sha)?;
        for oid in walk {
            let oid = oid?;
            let commit = self.repo.find_commit(oid)?;
            if commit
                .message()
                .is_ok_and(|message| message.contains(&says))
            {
                return Ok(Some(oid));
            }
        }
        Ok(None)
    }

    /// Whether `sha` is one of upkeep's upgrade commits: its own (see [`OWN_TRAILER`]) and
    /// titled `upgrade:` or `downgrade:`. A revert upkeep made is its own but no upgrade.
    pub fn is_own_upgrade(&self, sha: Oid) -> bool {
        let titled = self.repo.find_commit(sha).is_ok_and(|commit| {
            commit.summary().ok().flatten().is_some_and(|summary| {
                summary.starts_with("upgrade: ") || summary.starts_with("downgrade: ")
            })
        });
        titled && self.is_own(sha)
    }

    /// The subject (first line) of commit `sha`.
    pub fn subject(&self, sha: Oid) -> anyhow::Result<String> {
        let commit = self.repo.find_commit(sha)?;
        Ok(commit
            .summary()
            .ok()
            .flatten()
            .unwrap_or_default()
            .to_owned())
    }

    /// The newest of HEAD's last `limit` commits whose subject starts with `prefix`:
    /// `abc1234 subject` and its commit time (Unix seconds).
    pub fn last_with_subject(
        &self,
        prefix: &str,
        limit: usize,
    ) -> anyhow::Result<Option<(String, i64)>> {
        let mut walk = self.repo.revwalk()?;
        walk.push_head()?;
        for oid in walk.take(limit) {
            let commit = self.repo.find_commit(oid?)?;
            let summary = commit.summary().ok().flatten().unwrap_or_default();
            if summary.starts_with(prefix) {
                let line = format!("{:.7} {summary}", commit.id().to_string());
                return Ok(Some((line, commit.time().seconds())));
            }
        }
        Ok(None)
    }

    /// The remote-tracking ref of the branch.
    fn tracking_ref(&self) -> String {
        format!("refs/remotes/{}/{}", self.remote, self.branch)
    }

    /// The remote's tip as last fetched.
    fn tracking(&self) -> anyhow::Result<Oid> {
        self.repo
            .refname_to_id(&self.tracking_ref())
            .with_context(|| format!("`{}` has not been fetched", self.remote))
    }

    /// The commits of HEAD the remote's `tip` lacks, oldest first, when all are upkeep's own;
    /// else an error listing those that are not.
    fn own_commits(&self, tip: Oid, head: Oid) -> anyhow::Result<Vec<Oid>> {
        let mut walk = self.repo.revwalk()?;
        walk.set_sorting(Sort::TOPOLOGICAL | Sort::REVERSE)?;
        walk.push(head)?;
        walk.hide(tip)?;
        let local: Vec<Oid> = walk.collect::<Result<_, _>>()?;
        let foreign: Vec<Oid> = local
            .iter()
            .copied()
            .filter(|oid| !self.is_own(*oid))
            .collect();
        if !foreign.is_empty() {
            bail!(
                "`{}` has commits that are not on `{}/{}`; upkeep pushes only its own commits. Push them, or move them to another branch, then run again:\n  {}",
                self.branch,
                self.remote,
                self.branch,
                self.lines(&foreign)?.join("\n  ")
            );
        }
        Ok(local)
    }

    /// `abc1234 subject` for each commit.
    fn lines(&self, commits: &[Oid]) -> anyhow::Result<Vec<String>> {
        commits
            .iter()
            .map(|oid| {
                let commit = self.repo.find_commit(*oid)?;
                let summary = commit.summary().ok().flatten().unwrap_or_default();
                Ok(format!("{:.7} {summary}", oid.to_string()))
            })
            .collect()
    }

    /// Whether commit `oid` is upkeep's: one parent, and its trailer's fingerprint is that
    /// of the change it makes.
    fn is_own(&self, oid: Oid) -> bool {
        let Ok(commit) = self.repo.find_commit(oid) else {
            return false;
        };
        let (Ok(parent), Ok(tree)) = (commit.parent(0), commit.tree()) else {
            return false;
        };
        if commit.parent_count() != 1 {
            return false;
        }
        let claimed = commit.message().ok().and_then(|message| {
            message.lines().rev().find_map(|line| {
                line.strip_prefix(OWN_TRAILER)?
                    .strip_prefix(": ")
                    .map(str::to_owned)
            })
        });
        match (claimed, parent.tree()) {
            (Some(claimed), Ok(base)) => self.fingerprint(&base, &tree).is_ok_and(|f| f == claimed),
            _ => false,
        }
    }

    /// A digest of the change from `base` to `tree`: each path with its old and new blob.
    fn fingerprint(&self, base: &git2::Tree<'_>, tree: &git2::Tree<'_>) -> anyhow::Result<String> {
        let diff = self.repo.diff_tree_to_tree(Some(base), Some(tree), None)?;
        let mut hash = Sha256::new();
        for delta in diff.deltas() {
            let path = delta
                .new_file()
                .path()
                .or_else(|| delta.old_file().path())
                .unwrap_or(Path::new(""));
            hash.update(path.to_string_lossy().as_bytes());
            hash.update([0]);
            hash.update(delta.old_file().id().as_bytes());
            hash.update(delta.new_file().id().as_bytes());
        }
        let digest = hash.finalize();
        Ok(digest[..16].iter().map(|b| format!("{b:02x}")).collect())
    }

    /// `message` with the ownership trailer for the change from `base` to `tree` (replacing
    /// an earlier one).
    fn owned(
        &self,
        message: &str,
        base: &git2::Tree<'_>,
        tree: &git2::Tree<'_>,
    ) -> anyhow::Result<String> {
        let prefix = format!("{OWN_TRAILER}: ");
        let kept: Vec<&str> = message
            .trim_end()
            .lines()
            .filter(|line| !line.starts_with(&prefix))
            .collect();
        Ok(format!(
            "{}\n{prefix}{}\n",
            kept.join("\n"),
            self.fingerprint(base, tree)?
        ))
    }

    /// Re-applies upkeep's commits `ours` (oldest first) on top of `onto`, same messages and
    /// authors with fresh fingerprints, and moves the branch there; returns the commits
    /// replayed, new. A commit whose change `onto` already holds is dropped, never made
    /// empty. A conflict stops with the branch as it was: nothing is merged by guess.
    fn replay(&self, ours: &[Oid], onto: Oid) -> anyhow::Result<Vec<Oid>> {
        let mut base = self.repo.find_commit(onto)?;
        let mut kept = Vec::new();
        for oid in ours {
            let commit = self.repo.find_commit(*oid)?;
            let mut index = self.repo.cherrypick_commit(&commit, &base, 0, None)?;
            if index.has_conflicts() {
                bail!(
                    "{:.7} conflicts with what was pushed meanwhile; it stays local and unpushed",
                    oid.to_string()
                );
            }
            let tree = self.repo.find_tree(index.write_tree_to(&self.repo)?)?;
            if tree.id() == base.tree_id() {
                tracing::info!(commit = %oid, "dropped: the remote already holds its change");
                continue;
            }
            let message = self.owned(commit.message().unwrap_or_default(), &base.tree()?, &tree)?;
            let new = self.repo.commit(
                None,
                &commit.author(),
                &commit.committer(),
                &message,
                &tree,
                &[&base],
            )?;
            base = self.repo.find_commit(new)?;
            kept.push(new);
        }
        self.move_to(base.id())?;
        Ok(kept)
    }

    /// Moves the branch and the working tree to commit `target`. The checkout is git's safe
    /// one: a file changed in the working tree meanwhile stops it, and nothing is
    /// overwritten.
    fn move_to(&self, target: Oid) -> anyhow::Result<()> {
        let commit = self.repo.find_commit(target)?;
        let mut checkout = CheckoutBuilder::new();
        checkout.safe();
        self.repo
            .checkout_tree(commit.as_object(), Some(&mut checkout))
            .context("the working tree changed meanwhile; nothing was overwritten")?;
        self.repo
            .reference(
                &format!("refs/heads/{}", self.branch),
                target,
                true,
                "upkeep: move branch",
            )
            .context("cannot move the branch")?;
        Ok(())
    }
}

/// The tags of the repository at `url` (`git ls-remote --tags`), without cloning it.
pub fn remote_tags(url: &str) -> anyhow::Result<Vec<String>> {
    let mut tags: Vec<String> = remote::ls_remote(None, url, &["refs/tags/*"])?
        .into_iter()
        .filter_map(|(_, name)| {
            name.strip_prefix("refs/tags/")
                .map(|tag| tag.trim_end_matches("^{}").to_owned())
        })
        .collect();
    tags.sort();
    tags.dedup();
    Ok(tags)
}
