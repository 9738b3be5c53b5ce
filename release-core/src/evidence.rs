//! The evidence record of one release: `.scratch/release/evidence-vX.Y.Z.json` under the
//! repository root (the truth, with `schema_version`) and `evidence-vX.Y.Z.md` beside it,
//! rendered from the JSON with the sections of the old report (facts §8.5).
//!
//! Every command that takes a target appends its report with [`append`], which also updates
//! the resume checkpoint. Writes are atomic (temp file + rename) and locked by an operating
//! system file lock on `…json.lock` (see `lock.rs`): held exactly as long as the writer lives,
//! never taken over by age, waited for up to [`LOCK_WAIT`]. Every change is a
//! read-modify-write under the lock, so concurrent commands never lose each other's entries
//! and a killed writer never leaves a half-written record. The JSON is written first and the
//! Markdown after it, so the Markdown never shows what the JSON does not hold; a Markdown that
//! is missing or stale (a failure between the two writes) is rewritten by the next change.
//!
//! A record that cannot be read (not JSON, another schema, or whose `target` is not the one
//! its file name says) is an error, never read as this release; `evidence --force` moves it
//! aside as a backup and starts a new one.
//!
//! When [`append`] finds no record it creates one with mode [`Mode::Unset`] and the derived
//! base tag; `cargo xtask release evidence vX.Y.Z --mode M --agent A` sets them later without
//! `--force` (an unset mode may be set once).

use std::{fs, time::Duration};

use crate::fsutil::read_regular;

use anyhow::{Context as _, bail};
use camino::{Utf8Path, Utf8PathBuf};
use serde::{Deserialize, Serialize};

use crate::{
    clock::Clock, fsutil, repo::PushState, repo::Repo, report::Evidence, report::Outcome, report::Report,
    report::Verdict, target::ReleaseTarget,
};

mod lock;
mod render;
mod state;
pub use lock::Lock;
pub use render::markdown;
pub use state::{CheckState, Derived, Required, Standing, derive, release_commit};

/// Version of the record's JSON shape.
pub const SCHEMA_VERSION: u32 = 1;
/// How long a writer waits for a live lock before giving up.
pub const LOCK_WAIT: Duration = Duration::from_secs(30);

/// The release mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Mode {
    /// A rehearsal: nothing is published.
    DryRun,
    /// The real release.
    Live,
    /// Not said yet (the record was created by a command other than `evidence`).
    Unset,
}

impl Mode {
    /// Parses `dry-run` or `live`.
    pub fn parse(text: &str) -> anyhow::Result<Mode> {
        match text {
            "dry-run" => Ok(Mode::DryRun),
            "live" => Ok(Mode::Live),
            _ => bail!("mode must be `dry-run` or `live`, not `{text}`"),
        }
    }

    /// `dry-run`, `live` or `unset`.
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::DryRun => "dry-run",
            Mode::Live => "live",
            Mode::Unset => "unset",
        }
    }
}

/// The evidence record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Record {
    /// `SCHEMA_VERSION`.
    pub schema_version: u32,
    /// `vX.Y.Z`.
    pub target: String,
    /// The base tag, when known.
    pub base_tag: Option<String>,
    /// Release mode.
    pub mode: Mode,
    /// Who runs the release (`model@host`, a person).
    pub agent: Option<String>,
    /// When the record was made (UTC).
    pub initialized: String,
    /// The resume checkpoint.
    pub checkpoint: Checkpoint,
    /// Every report appended, oldest first.
    #[serde(default)]
    pub entries: Vec<Entry>,
    /// Release blockers.
    #[serde(default)]
    pub blockers: Vec<Blocker>,
    /// Waivers and other decisions.
    #[serde(default)]
    pub decisions: Vec<Decision>,
}

/// Where the release stands, updated on every append.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Checkpoint {
    /// When it was last updated (UTC).
    pub updated: String,
    /// The phase of the last command (`context`, `qa`, `build`, `verification`...).
    pub phase: String,
    /// Local branch (`None`: detached).
    pub branch: Option<String>,
    /// HEAD commit.
    pub commit: Option<String>,
    /// The commit the target's tag points to locally, if the tag exists.
    pub tag_local: Option<String>,
    /// Whether origin has the tag (`None`: not asked or could not tell).
    pub tag_remote: Option<bool>,
    /// The last workflow run a report mentioned.
    pub last_run: Option<String>,
    /// Number of open blockers.
    pub open_blockers: usize,
}

/// One appended report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    /// When it was appended (UTC).
    pub timestamp: String,
    /// The report.
    pub report: Report,
    /// The commit the report is about: HEAD for `qa`; the local tag's commit, when the tag
    /// exists, for the checks after the tag (`provenance`, `verify`). `None` in records written
    /// before it was kept: such an entry counts for no commit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commit: Option<String>,
    /// A subset run (`qa --only`, `verify --channels`): it updates only what it ran.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub subset: bool,
}

/// A release blocker.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Blocker {
    /// `B1`, `B2`... in order of filing.
    pub id: String,
    /// The gate or check it is about.
    pub check: String,
    /// Short title.
    pub title: String,
    /// What is wrong and what was seen.
    pub summary: String,
    /// When it was filed (UTC).
    pub opened: String,
    /// When it was resolved (UTC), if it was.
    #[serde(default)]
    pub closed: Option<String>,
    /// Where it is tracked besides here (ergo task id, issue URL).
    #[serde(default)]
    pub external: Option<String>,
    /// Who filed it (`blocker --agent`, else the record's agent), when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filed_by: Option<String>,
}

/// A decision kept for the record: a waiver, or a note.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Decision {
    /// When (UTC).
    pub timestamp: String,
    /// `waiver` or `note`.
    pub kind: String,
    /// The gate concerned, if any.
    #[serde(default)]
    pub check: Option<String>,
    /// The decision, in the operator's words.
    pub text: String,
    /// The commit it was given on (a waiver holds for that commit only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commit: Option<String>,
    /// Who decided (`qa --agent`, else the record's agent), when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub by: Option<String>,
}

/// `.scratch/release` under the root (never the current directory: bug 37).
pub fn dir(repo: &Repo) -> Utf8PathBuf {
    repo.path(".scratch/release")
}

/// The JSON record of `target`.
pub fn json_path(repo: &Repo, target: &ReleaseTarget) -> Utf8PathBuf {
    dir(repo).join(format!("evidence-{}.json", target.tag()))
}

/// The Markdown rendering beside it.
pub fn markdown_path(repo: &Repo, target: &ReleaseTarget) -> Utf8PathBuf {
    dir(repo).join(format!("evidence-{}.md", target.tag()))
}

/// Reads the record, if there is one.
pub fn load(repo: &Repo, target: &ReleaseTarget) -> anyhow::Result<Option<Record>> {
    read(&json_path(repo, target), target)
}

/// How to start over from a record that cannot be read.
fn force_hint(target: &ReleaseTarget) -> String {
    format!(
        "`cargo xtask release evidence {} --mode dry-run|live --agent <you> --force` starts a new record and keeps this file as a backup",
        target.tag()
    )
}

fn read(path: &Utf8Path, target: &ReleaseTarget) -> anyhow::Result<Option<Record>> {
    let Some(text) = read_regular(path)? else { return Ok(None) };
    let record: Record = serde_json::from_str(&text)
        .with_context(|| format!("{path} is not a valid evidence record; {}", force_hint(target)))?;
    if record.schema_version > SCHEMA_VERSION {
        bail!("{path} has schema_version {}; this tool reads up to {SCHEMA_VERSION}", record.schema_version);
    }
    if record.target != target.tag() {
        bail!(
            "{path} is the record of `{}`, not of {} as its file name says: it is not read as this release; {}",
            record.target,
            target.tag(),
            force_hint(target)
        );
    }
    Ok(Some(record))
}

/// A backup name beside `path` for `stamp`, not taken yet.
fn backup_path(path: &Utf8Path, stamp: &str) -> Utf8PathBuf {
    let first = Utf8PathBuf::from(format!("{path}.bak-{stamp}"));
    if !first.exists() {
        return first;
    }
    (1..).map(|n| Utf8PathBuf::from(format!("{first}.{n}"))).find(|p| !p.exists()).unwrap_or(first)
}

/// What `evidence` is asked to set up.
#[derive(Debug, Clone)]
pub struct InitOptions {
    /// Release mode.
    pub mode: Mode,
    /// Agent id (empty: not said).
    pub agent: String,
    /// Base tag (already derived or given).
    pub base_tag: Option<String>,
    /// Start over, keeping the old file as a backup.
    pub force: bool,
}

/// What `init` did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Init {
    /// A new record.
    Created,
    /// The existing record, unchanged context.
    Reopened,
    /// An existing record with mode unset got its mode and agent.
    Completed,
    /// Started over; the old record is at this path.
    Replaced {
        /// The backup file.
        backup: Utf8PathBuf,
    },
}

fn new_record(target: &ReleaseTarget, mode: Mode, agent: Option<String>, base: Option<String>, now: &str) -> Record {
    Record {
        schema_version: SCHEMA_VERSION,
        target: target.tag(),
        base_tag: base,
        mode,
        agent,
        initialized: now.to_string(),
        checkpoint: Checkpoint { updated: now.to_string(), phase: "context".into(), ..Checkpoint::default() },
        entries: Vec::new(),
        blockers: Vec::new(),
        decisions: Vec::new(),
    }
}

impl Record {
    /// A new record whose mode was never set (created by a command that appends before
    /// `evidence` was run; `evidence --mode M` fills it in later).
    pub fn unset(target: &ReleaseTarget, now: &str) -> Record {
        new_record(target, Mode::Unset, None, None, now)
    }
}

/// Creates the record, or reopens it. Reopening with a different mode or base tag is an error
/// that says to use `--force`; with `force` the old file is kept as
/// `evidence-vX.Y.Z.json.bak-<timestamp>` and a new record starts.
pub fn init(repo: &Repo, target: &ReleaseTarget, opts: &InitOptions, clock: &Clock) -> anyhow::Result<Init> {
    let path = json_path(repo, target);
    let now = clock.timestamp();
    let stamp = now.replace(':', "");
    let mut moved_aside = None;
    let recover = opts.force.then_some((stamp.as_str(), &mut moved_aside));
    let outcome = update_inner(repo, target, clock, recover, |existing| {
        let agent = (!opts.agent.trim().is_empty()).then(|| opts.agent.clone());
        let fresh = || new_record(target, opts.mode, agent.clone(), opts.base_tag.clone(), &now);
        match existing.take() {
            None => {
                *existing = Some(fresh());
                Ok(Init::Created)
            }
            Some(_) if opts.force => {
                let backup = backup_path(&path, &stamp);
                fs::copy(&path, &backup).with_context(|| format!("cannot back up {path} to {backup}"))?;
                *existing = Some(fresh());
                Ok(Init::Replaced { backup })
            }
            Some(mut record) => {
                let result = check_same_context(&record, opts, &path);
                let outcome = match result {
                    Ok(()) if record.mode == Mode::Unset || (record.agent.is_none() && agent.is_some()) => {
                        record.mode = opts.mode;
                        record.agent = record.agent.clone().or(agent.clone());
                        if record.base_tag.is_none() {
                            record.base_tag = opts.base_tag.clone();
                        }
                        Ok(Init::Completed)
                    }
                    Ok(()) => Ok(Init::Reopened),
                    Err(e) => Err(e),
                };
                *existing = Some(record);
                outcome
            }
        }
    })?;
    // An unreadable record was moved aside before `f` ran, which then saw none.
    Ok(match moved_aside {
        Some(backup) => Init::Replaced { backup },
        None => outcome,
    })
}

fn check_same_context(record: &Record, opts: &InitOptions, path: &Utf8Path) -> anyhow::Result<()> {
    if record.mode != Mode::Unset && record.mode != opts.mode {
        bail!(
            "{path} records mode {} but --mode {} was given: pass --force to start over (the old record is kept as a backup)",
            record.mode.as_str(),
            opts.mode.as_str()
        );
    }
    if record.base_tag.is_some() && opts.base_tag.is_some() && record.base_tag != opts.base_tag {
        bail!(
            "{path} records base tag {} but {} was given: pass --force to start over (the old record is kept as a backup)",
            record.base_tag.as_deref().unwrap_or("-"),
            opts.base_tag.as_deref().unwrap_or("-")
        );
    }
    Ok(())
}

/// The phase a command belongs to.
pub fn phase_of(command: &str) -> &'static str {
    match command {
        "qa" | "versions" | "changelog" | "targets" | "bench" => "qa",
        "provenance" | "build" => "build",
        "tag" => "tag",
        "publish" => "publish",
        "verify" | "smoke" | "notices" => "verification",
        "blocker" => "blockers",
        _ => "context",
    }
}

/// How a report came about, kept with its entry.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RunInfo {
    /// A subset run (`--only`, `--channels`).
    pub subset: bool,
    /// Who ran it (`--agent`); waivers are recorded as theirs, else as the record's agent's.
    pub agent: Option<String>,
}

/// Appends `report` to the record of `target` and updates the checkpoint (phase, branch and
/// commit, local and remote tag state, last workflow run, open blockers). The entry records
/// the commit it is about (see [`Entry::commit`]) and whether it was a subset run. Waived
/// findings are also kept as decisions, with their commit and who gave them. Creates the
/// record (mode unset) when there is none.
pub fn append(
    repo: &Repo,
    target: &ReleaseTarget,
    report: &Report,
    run: &RunInfo,
    clock: &Clock,
) -> anyhow::Result<()> {
    let now = clock.timestamp();
    let live = LiveState::read_for_record(repo, target);
    let commit = match phase_of(&report.command) {
        "build" | "publish" | "verification" => release_commit(&live),
        _ => live.commit.clone(),
    };
    update(repo, target, clock, |existing| {
        let record = existing.get_or_insert_with(|| {
            let base = repo.base_tag(target).ok().flatten().map(|t| t.tag());
            new_record(target, Mode::Unset, None, base, &now)
        });
        let by = run.agent.clone().or_else(|| record.agent.clone());
        for f in &report.findings {
            if let Outcome::Waived { reason } = &f.outcome {
                record.decisions.push(Decision {
                    timestamp: now.clone(),
                    kind: "waiver".into(),
                    check: Some(f.check.to_string()),
                    text: reason.clone(),
                    commit: commit.clone(),
                    by: by.clone(),
                });
            }
        }
        if let Some(run) = report.findings.iter().flat_map(|f| &f.evidence).find_map(|e| match e {
            Evidence::Url { url, .. } if url.contains("/actions/runs/") => Some(url.clone()),
            _ => None,
        }) {
            record.checkpoint.last_run = Some(run);
        }
        record.entries.push(Entry {
            timestamp: now.clone(),
            report: report.clone(),
            commit: commit.clone(),
            subset: run.subset,
        });
        record.checkpoint.phase = phase_of(&report.command).to_string();
        live.apply(&mut record.checkpoint);
        Ok(())
    })
}

impl Record {
    /// Titles of open blockers, with their ids.
    pub fn open_blockers(&self) -> Vec<String> {
        self.blockers.iter().filter(|b| b.closed.is_none()).map(|b| format!("{} {}", b.id, b.title)).collect()
    }

    /// The newest entry of `command`.
    pub fn latest(&self, command: &str) -> Option<&Entry> {
        self.entries.iter().rev().find(|e| e.report.command == command)
    }

    /// QA gates whose latest result at the release commit blocks, as `WORD id: detail`.
    pub fn failing_gates(&self, derived: &Derived) -> Vec<String> {
        derived
            .gates
            .iter()
            .filter(|g| matches!(g.standing, Standing::Failing { .. }))
            .map(CheckState::describe)
            .collect()
    }

    /// The next step of the runbook, from the derived state (every required check at the
    /// release commit) and what `live` git says. Never "tag" or "done" on a partial or stale
    /// picture: it names what is missing, stale or failing instead.
    pub fn next_step(&self, live: &LiveState, derived: &Derived) -> String {
        let t = &self.target;
        if !self.open_blockers().is_empty() {
            return format!(
                "resolve the open blockers, close each (`cargo xtask release blocker {t} --close B1 --reason \"...\"`), then re-run `cargo xtask release qa {t}`"
            );
        }
        let Some(commit) = &derived.release_commit else {
            return format!(
                "git cannot name the release commit (HEAD or the tag {t}): run this inside the repository's work tree"
            );
        };
        let short = state::short(commit);
        let names = |states: &[&CheckState]| states.iter().map(|c| c.check.as_str()).collect::<Vec<_>>().join(", ");
        let not_holding: Vec<&CheckState> = derived.gates.iter().filter(|g| !g.holds()).collect();
        if !not_holding.is_empty() {
            let failing: Vec<&CheckState> =
                not_holding.iter().copied().filter(|g| matches!(g.standing, Standing::Failing { .. })).collect();
            if !failing.is_empty() {
                return format!(
                    "fix the failing gates ({}), then re-run `cargo xtask release qa {t}`",
                    names(&failing)
                );
            }
            if self.latest("qa").is_none() {
                return format!("run the gates: `cargo xtask release qa {t}`");
            }
            let stale: Vec<&CheckState> =
                not_holding.iter().copied().filter(|g| matches!(g.standing, Standing::Stale { .. })).collect();
            let missing: Vec<&CheckState> =
                not_holding.iter().copied().filter(|g| matches!(g.standing, Standing::Missing)).collect();
            let mut why = Vec::new();
            if !missing.is_empty() {
                why.push(format!("never ran: {}", names(&missing)));
            }
            if !stale.is_empty() {
                why.push(format!("ran on another commit: {}", names(&stale)));
            }
            return format!(
                "run the gates at the release commit {short}: `cargo xtask release qa {t}` ({})",
                why.join("; ")
            );
        }
        if self.mode == Mode::Unset {
            return format!(
                "say how this release runs: `cargo xtask release evidence {t} --mode dry-run|live --agent <you>`"
            );
        }
        if live.tag_local.is_none() {
            return format!(
                "tag the release commit: `cargo xtask release tag {t}` (after `cargo xtask release preflight {t}`; `cargo xtask release next {t}` does both)"
            );
        }
        if let (None, Some(why)) = (live.tag_remote, &live.remote_error) {
            return format!(
                "origin could not be asked whether it has {t} ({why}); check the remote and the network, then `cargo xtask release status {t}`"
            );
        }
        if live.tag_remote != Some(true) {
            return format!("push the tag (this starts the release workflow): `cargo xtask release tag {t}` pushes it");
        }
        if let Some(p) = derived.delivery.iter().find(|c| c.check == "provenance" && !c.holds()) {
            return match p.standing {
                Standing::Failing { .. } => format!(
                    "the build run is not the right one: rebuild the tag, then `cargo xtask release provenance --tag {t}`"
                ),
                _ => format!(
                    "wait for the release build (`cargo xtask release build {t}`), then `cargo xtask release provenance --tag {t}`"
                ),
            };
        }
        let channels: Vec<&CheckState> = derived.delivery.iter().filter(|c| !c.holds()).collect();
        if channels.is_empty() {
            // The last step: the install smoke, at the release commit (after the publish, as
            // `next` runs it).
            let smoked = self
                .entries
                .iter()
                .rev()
                .find(|e| e.report.command == "smoke" && e.commit.as_deref() == Some(commit.as_str()));
            return match smoked {
                Some(entry) if smoke_settled(&entry.report) => {
                    "done: every channel verified and the install smoke passed".into()
                }
                Some(_) => format!(
                    "every channel verified, but the install smoke did not pass: fix the channel, then `cargo xtask release smoke {t}`"
                ),
                None => format!(
                    "every channel verified; run the install smoke: `cargo xtask release smoke {t}` (`cargo xtask release next {t} --live` runs it)"
                ),
            };
        }
        let failing: Vec<&CheckState> =
            channels.iter().copied().filter(|c| matches!(c.standing, Standing::Failing { .. })).collect();
        if !failing.is_empty() {
            return format!(
                "delivery is not verified ({}): fix forward, then `cargo xtask release verify {t}`",
                names(&failing)
            );
        }
        format!(
            "dispatch the publish workflow with the checked build run: `cargo xtask release publish {t} --rehearsal`, then `--live` (which runs `verify {t} --wait`; `cargo xtask release next {t}` drives both) (not verified yet: {})",
            names(&channels)
        )
    }
}

/// What git says now, for the checkpoint and `status`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LiveState {
    /// Branch (`None`: detached or unknown).
    pub branch: Option<String>,
    /// HEAD.
    pub commit: Option<String>,
    /// Against the upstream branch.
    pub push: Option<PushState>,
    /// Local tag's commit.
    pub tag_local: Option<String>,
    /// Whether origin has the tag (`None`: not asked, no origin, or could not ask).
    pub tag_remote: Option<bool>,
    /// Why origin could not be asked, when it was asked and did not answer.
    pub remote_error: Option<String>,
}

impl LiveState {
    /// Reads the state for `status`, which shows origin's answer: origin is asked (within
    /// the repository's remote time bound) whenever there is one. Every failure leaves its
    /// field unknown.
    pub fn read(repo: &Repo, target: &ReleaseTarget) -> LiveState {
        LiveState::read_with(repo, target, true)
    }

    /// Reads the state for a recording command's checkpoint: origin is asked only when its
    /// answer is used (whether a tag that exists here was pushed), so before tagging no
    /// command waits on the network.
    pub fn read_for_record(repo: &Repo, target: &ReleaseTarget) -> LiveState {
        LiveState::read_with(repo, target, false)
    }

    fn read_with(repo: &Repo, target: &ReleaseTarget, always_ask: bool) -> LiveState {
        let tag = target.tag();
        let tag_local = repo.tag_commit(&tag).ok().flatten();
        let has_origin = || repo.git(&["remote"]).is_ok_and(|r| r.lines().any(|l| l.trim() == "origin"));
        let remote = match (always_ask || tag_local.is_some()) && has_origin() {
            true => Some(repo.remote_has_tag("origin", &tag)),
            false => None,
        };
        let (tag_remote, remote_error) = match remote {
            Some(Ok(has)) => (Some(has), None),
            Some(Err(e)) => (None, Some(format!("{e:#}"))),
            None => (None, None),
        };
        LiveState {
            branch: repo.branch().ok().flatten(),
            commit: repo.head().ok(),
            push: repo.push_state().ok(),
            tag_local,
            tag_remote,
            remote_error,
        }
    }

    fn apply(&self, c: &mut Checkpoint) {
        c.branch = self.branch.clone();
        c.commit = self.commit.clone();
        c.tag_local = self.tag_local.clone();
        c.tag_remote = self.tag_remote;
    }
}

/// The locked read-modify-write every change goes through: `f` gets the current record (or
/// `None`) and may replace it. A changed record is written atomically, JSON first; then the
/// Markdown is rewritten whenever it does not match the JSON (so a Markdown left stale by a
/// failure after the JSON write is repaired by the next change).
pub fn update<T>(
    repo: &Repo,
    target: &ReleaseTarget,
    clock: &Clock,
    f: impl FnOnce(&mut Option<Record>) -> anyhow::Result<T>,
) -> anyhow::Result<T> {
    update_inner(repo, target, clock, None, f)
}

/// [`update`]; with `recover` = `(stamp, moved_aside)`, a record that cannot be read is moved
/// to a backup named with `stamp` (its path put in `moved_aside`) and `f` sees no record.
fn update_inner<T>(
    repo: &Repo,
    target: &ReleaseTarget,
    clock: &Clock,
    recover: Option<(&str, &mut Option<Utf8PathBuf>)>,
    f: impl FnOnce(&mut Option<Record>) -> anyhow::Result<T>,
) -> anyhow::Result<T> {
    let path = json_path(repo, target);
    let folder = dir(repo);
    fs::create_dir_all(&folder).with_context(|| format!("cannot create {folder}"))?;
    let _lock = Lock::acquire(&lock_path(&path), clock)?;
    let mut record = match (read(&path, target), recover) {
        (Ok(record), _) => record,
        (Err(_), Some((stamp, moved_aside))) => {
            let backup = backup_path(&path, stamp);
            fs::rename(&path, &backup).with_context(|| format!("cannot move {path} aside to {backup}"))?;
            *moved_aside = Some(backup);
            None
        }
        (Err(e), None) => return Err(e),
    };
    let before = record.clone();
    let value = f(&mut record)?;
    let Some(r) = record.as_mut() else { return Ok(value) };
    if record_changed(&before, r) {
        r.checkpoint.updated = clock.timestamp();
        r.checkpoint.open_blockers = r.blockers.iter().filter(|b| b.closed.is_none()).count();
        let json = serde_json::to_string_pretty(r).context("cannot serialize the evidence record")?;
        fsutil::write_atomic(&path, format!("{json}\n").as_bytes())?;
    }
    let md_path = markdown_path(repo, target);
    let rendered = markdown(r);
    if fs::read_to_string(&md_path).ok().as_deref() != Some(rendered.as_str()) {
        fsutil::write_atomic(&md_path, rendered.as_bytes()).with_context(|| {
            format!("{path} was written, but not its Markdown rendering; the next change to the record rewrites it")
        })?;
    }
    Ok(value)
}

/// The record files (`evidence-*.json` and their Markdown) in the repository, name and text,
/// each pair read under its record's lock so a writer is never seen half-way.
pub fn record_files(repo: &Repo, clock: &Clock) -> anyhow::Result<Vec<(String, String)>> {
    let folder = dir(repo);
    let mut names: Vec<String> = match folder.read_dir_utf8() {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e).with_context(|| format!("cannot list {folder}")),
        Ok(entries) => entries
            .filter_map(Result::ok)
            .map(|e| e.file_name().to_string())
            .filter(|n| n.starts_with("evidence-") && n.ends_with(".json"))
            .collect(),
    };
    names.sort();
    let mut files = Vec::new();
    for name in names {
        let json = folder.join(&name);
        let md = Utf8PathBuf::from(format!("{}.md", json.as_str().trim_end_matches(".json")));
        let _lock = Lock::acquire(&lock_path(&json), clock)?;
        for path in [&json, &md] {
            match fs::read(path) {
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(e).with_context(|| format!("cannot read {path}")),
                Ok(bytes) => files.push((
                    path.file_name().unwrap_or_default().to_string(),
                    String::from_utf8_lossy(&bytes).into_owned(),
                )),
            }
        }
    }
    Ok(files)
}

/// Whether `json` (and its Markdown `md`) is exactly what this tool writes as a later state of
/// the record `old`: it parses, serializes back to the same bytes, keeps every entry and
/// blocker of `old` unchanged and in order, and the Markdown is its rendering. Anything else
/// in the record's place was written by someone else.
pub fn is_tool_update(old: Option<&str>, json: &str, md: Option<&str>) -> bool {
    let Ok(record) = serde_json::from_str::<Record>(json) else { return false };
    let Ok(text) = serde_json::to_string_pretty(&record) else { return false };
    if format!("{text}\n") != json || md.is_some_and(|md| md != markdown(&record)) {
        return false;
    }
    let Some(old) = old else { return true };
    let Ok(old) = serde_json::from_str::<Record>(old) else { return false };
    record.entries.starts_with(&old.entries) && record.blockers.len() >= old.blockers.len()
}

fn record_changed(before: &Option<Record>, after: &Record) -> bool {
    before.as_ref() != Some(after)
}

fn lock_path(json: &Utf8Path) -> Utf8PathBuf {
    Utf8PathBuf::from(format!("{json}.lock"))
}

/// Whether an install smoke lets the release be done: it is ready, or it ran nothing because
/// no leg applies here (each skipped with its reason, e.g. Homebrew off macOS), which a
/// report's verdict calls incomplete although nothing is left to install. `status` and `next`
/// both decide "done" by it.
pub fn smoke_settled(report: &Report) -> bool {
    matches!(report.verdict, Verdict::Ready | Verdict::ReadyWithWaivers)
        || (!report.findings.is_empty() && report.findings.iter().all(|f| matches!(f.outcome, Outcome::Skipped { .. })))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phases() {
        assert_eq!(phase_of("qa"), "qa");
        assert_eq!(phase_of("verify"), "verification");
        assert_eq!(phase_of("evidence"), "context");
    }

    fn entry(target: &ReleaseTarget, command: &str, commit: &str, findings: Vec<crate::report::Finding>) -> Entry {
        Entry {
            timestamp: "now".into(),
            report: Report::new(command, Some(target.tag()), findings),
            commit: Some(commit.into()),
            subset: false,
        }
    }

    fn step(record: &Record, live: &LiveState, required: &Required) -> String {
        record.next_step(live, &derive(record, live, required))
    }

    #[test]
    fn next_step_after_the_tag_is_provenance_then_verify() {
        use crate::report::Finding;
        let target = ReleaseTarget::parse("v0.8.0").unwrap();
        let required = Required {
            gates: vec!["versions".into()],
            delivery: vec!["provenance".into(), "verify.npm".into(), "verify.crates".into()],
        };
        let mut record = new_record(&target, Mode::Live, None, None, "now");
        record.entries.push(entry(&target, "qa", "abc", vec![Finding::pass("versions", "x", "ok")]));
        let live = LiveState { tag_local: Some("abc".into()), tag_remote: Some(true), ..LiveState::default() };
        assert!(step(&record, &live, &required).contains("release provenance --tag v0.8.0"));
        record.entries.push(entry(
            &target,
            "provenance",
            "abc",
            vec![Finding::fail("provenance.tag-commit", "x", "moved")],
        ));
        assert!(step(&record, &live, &required).contains("rebuild the tag"));
        record.entries.push(entry(
            &target,
            "provenance",
            "abc",
            vec![Finding::pass("provenance.tag-commit", "x", "ok")],
        ));
        assert!(step(&record, &live, &required).contains("dispatch the publish workflow"));
        record.entries.push(entry(&target, "verify", "abc", vec![Finding::pass("verify.npm.published", "x", "ok")]));
        let partial = step(&record, &live, &required);
        assert!(partial.contains("not verified yet: verify.crates"), "one channel is not done: {partial}");
        record.entries.push(entry(&target, "verify", "abc", vec![Finding::fail("verify.crates.published", "x", "no")]));
        assert!(step(&record, &live, &required).contains("delivery is not verified (verify.crates)"));
        record.entries.push(entry(&target, "verify", "abc", vec![Finding::pass("verify.crates.published", "x", "ok")]));
        // Verified everywhere: the install smoke is the last step, and only a passing one (at
        // the release commit) makes the release done.
        assert!(step(&record, &live, &required).contains("run the install smoke: `cargo xtask release smoke v0.8.0`"));
        record.entries.push(entry(&target, "smoke", "abc", vec![Finding::fail("smoke.crates", "x", "0.8.01")]));
        assert!(step(&record, &live, &required).contains("the install smoke did not pass"));
        record.entries.push(entry(&target, "smoke", "abc", vec![Finding::pass("smoke.crates", "x", "ok")]));
        assert_eq!(step(&record, &live, &required), "done: every channel verified and the install smoke passed");
        record.blockers.push(Blocker {
            id: "B1".into(),
            check: "verify.npm".into(),
            title: "t".into(),
            summary: "s".into(),
            opened: "now".into(),
            closed: None,
            external: None,
            filed_by: None,
        });
        assert!(step(&record, &live, &required).contains("blocker v0.8.0 --close B1"), "an open blocker comes first");
    }

    #[test]
    fn a_subset_run_or_another_commit_does_not_advance_the_release() {
        use crate::report::Finding;
        let target = ReleaseTarget::parse("v0.8.0").unwrap();
        let required = Required { gates: vec!["versions".into(), "audit".into()], delivery: Vec::new() };
        let mut record = new_record(&target, Mode::Live, None, None, "now");
        let live = LiveState { commit: Some("abc".into()), ..LiveState::default() };
        let not_selected = Finding::skipped("audit", "audit", "not selected: --only versions");
        record.entries.push(entry(&target, "qa", "abc", vec![Finding::pass("versions", "x", "ok"), not_selected]));
        let derived = derive(&record, &live, &required);
        assert_eq!(derived.gates[1].standing, Standing::Missing);
        assert!(step(&record, &live, &required).contains("never ran: audit"));

        record.entries.push(entry(&target, "qa", "old", vec![Finding::pass("audit", "audit", "exit 0")]));
        assert!(step(&record, &live, &required).contains("ran on another commit: audit"));

        record.entries.push(entry(&target, "qa", "abc", vec![Finding::pass("audit", "audit", "exit 0")]));
        assert!(step(&record, &live, &required).starts_with("tag the release commit"), "both gates passed at abc");

        let moved = LiveState { commit: Some("def".into()), ..LiveState::default() };
        assert!(step(&record, &moved, &required).contains("ran on another commit: versions, audit"));

        let mut old = record.clone();
        old.entries.iter_mut().for_each(|e| e.commit = None);
        assert!(!derive(&old, &live, &required).gates_hold(), "an entry without a commit counts for none");

        let odd = LiveState { commit: Some("é".repeat(20)), ..LiveState::default() };
        assert!(step(&record, &odd, &required).contains(&"é".repeat(12)), "no panic on a non-ASCII commit id");
    }

    fn fixture() -> (crate::testing::FixtureRepo, Repo, ReleaseTarget) {
        let fixture = crate::testing::FixtureRepo::plasmite("0.8.0").build().unwrap();
        let repo = Repo::discover(fixture.root()).unwrap();
        (fixture, repo, ReleaseTarget::parse("v0.8.0").unwrap())
    }

    fn note(record: &mut Option<Record>, text: &str) -> anyhow::Result<()> {
        let r = record.get_or_insert_with(|| Record::unset(&ReleaseTarget::parse("v0.8.0").unwrap(), "now"));
        r.decisions.push(Decision {
            timestamp: "now".into(),
            kind: "note".into(),
            check: None,
            text: text.into(),
            commit: None,
            by: None,
        });
        Ok(())
    }

    fn notes(repo: &Repo, target: &ReleaseTarget) -> Vec<String> {
        load(repo, target).unwrap().unwrap().decisions.into_iter().map(|d| d.text).collect()
    }

    #[test]
    fn a_writer_paused_65s_loses_no_other_writers_update() {
        let (_fixture, repo, target) = fixture();
        let clock = Clock::manual(std::time::SystemTime::UNIX_EPOCH);
        let Clock::Manual(manual) = clock.clone() else { unreachable!() };
        let (inside_tx, inside_rx) = std::sync::mpsc::channel();
        let (resume_tx, resume_rx) = std::sync::mpsc::channel::<()>();
        std::thread::scope(|s| {
            // Writer A reads the record under the lock, then is paused before it writes.
            let (repo, target) = (&repo, &target);
            let a = s.spawn(move || {
                update(repo, target, &Clock::System, |record| {
                    inside_tx.send(()).unwrap();
                    resume_rx.recv().unwrap();
                    note(record, "from A")
                })
            });
            inside_rx.recv().unwrap();
            // Writer B, meanwhile: it waits its bounded time and gives up, saying so. The pause
            // goes on past the 60 s after which the old pid/age lock called A stale.
            let e = update(repo, target, &clock, |r| note(r, "from B")).unwrap_err();
            assert!(e.to_string().contains("locked by another release command"), "{e:#}");
            manual.advance(std::time::Duration::from_secs(65));
            assert!(update(repo, target, &clock, |r| note(r, "from B")).is_err(), "A still holds it");
            resume_tx.send(()).unwrap();
            a.join().unwrap().unwrap();
        });
        update(&repo, &target, &clock, |r| note(r, "from B")).unwrap();
        assert_eq!(notes(&repo, &target), ["from A", "from B"], "neither update is lost");
    }

    #[test]
    fn the_markdown_never_runs_ahead_of_the_json() {
        let (_fixture, repo, target) = fixture();
        update(&repo, &target, &Clock::System, |r| note(r, "first")).unwrap();
        // The Markdown cannot be written (as on a full disk): the JSON already holds the change.
        let md = markdown_path(&repo, &target);
        fs::remove_file(&md).unwrap();
        fs::create_dir(&md).unwrap();
        let e = update(&repo, &target, &Clock::System, |r| note(r, "second")).unwrap_err();
        assert!(format!("{e:#}").contains("the next change to the record rewrites it"), "{e:#}");
        assert_eq!(notes(&repo, &target), ["first", "second"], "the JSON is the truth");
        // The next change regenerates the Markdown from the JSON.
        fs::remove_dir(&md).unwrap();
        update(&repo, &target, &Clock::System, |r| note(r, "third")).unwrap();
        let text = fs::read_to_string(&md).unwrap();
        assert_eq!(text, markdown(&load(&repo, &target).unwrap().unwrap()));
        // A stale Markdown is rewritten even by an update that changes nothing.
        fs::write(&md, "stale").unwrap();
        update(&repo, &target, &Clock::System, |_| Ok(())).unwrap();
        assert_ne!(fs::read_to_string(&md).unwrap(), "stale");
    }

    #[test]
    fn an_empty_lock_file_left_by_a_full_disk_does_not_block() {
        let (_fixture, repo, target) = fixture();
        fs::create_dir_all(dir(&repo)).unwrap();
        fs::write(lock_path(&json_path(&repo, &target)), "").unwrap();
        let clock = Clock::manual(std::time::SystemTime::UNIX_EPOCH);
        let Clock::Manual(manual) = clock.clone() else { unreachable!() };
        update(&repo, &target, &clock, |r| note(r, "landed")).unwrap();
        assert_eq!(manual.elapsed(), std::time::Duration::ZERO, "no waiting at all");
        assert_eq!(notes(&repo, &target), ["landed"]);
    }

    #[test]
    fn a_corrupt_record_is_an_error_and_force_recovers_it_keeping_the_old_file() {
        let (_fixture, repo, target) = fixture();
        let path = json_path(&repo, &target);
        fs::create_dir_all(dir(&repo)).unwrap();
        fs::write(&path, "{\"schema_version\": 1, \"target\": \"v0.8.0\", trunc").unwrap();
        let e = format!(
            "{:#}",
            append(&repo, &target, &Report::new("qa", None, vec![]), &RunInfo::default(), &Clock::System).unwrap_err()
        );
        assert!(e.contains("not a valid evidence record") && e.contains("--force"), "{e}");
        let opts = InitOptions { mode: Mode::Live, agent: "me".into(), base_tag: None, force: false };
        assert!(init(&repo, &target, &opts, &Clock::System).is_err(), "not without --force");
        let forced = InitOptions { force: true, ..opts };
        let Init::Replaced { backup } = init(&repo, &target, &forced, &Clock::System).unwrap() else { panic!() };
        assert!(fs::read_to_string(&backup).unwrap().ends_with("trunc"), "the old bytes are kept");
        assert_eq!(load(&repo, &target).unwrap().unwrap().mode, Mode::Live);
    }

    #[test]
    fn a_record_of_another_target_is_not_read_as_this_release() {
        let (_fixture, repo, target) = fixture();
        let other = ReleaseTarget::parse("v0.7.2").unwrap();
        let json = serde_json::to_string(&Record::unset(&other, "now")).unwrap();
        fs::create_dir_all(dir(&repo)).unwrap();
        fs::write(json_path(&repo, &target), json).unwrap();
        let e = format!("{:#}", load(&repo, &target).unwrap_err());
        assert!(e.contains("evidence-v0.8.0.json") && e.contains("`v0.7.2`") && e.contains("not of v0.8.0"), "{e}");
        let e = format!("{:#}", update(&repo, &target, &Clock::System, |_| Ok(())).unwrap_err());
        assert!(e.contains("`v0.7.2`"), "{e}");
    }

    #[test]
    fn modes() {
        assert_eq!(Mode::parse("live").unwrap(), Mode::Live);
        assert!(Mode::parse("wet-run").is_err());
        assert_eq!(serde_json::to_string(&Mode::DryRun).unwrap(), "\"dry-run\"");
    }
}
