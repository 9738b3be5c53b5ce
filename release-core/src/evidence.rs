//! The evidence record of one release: `.scratch/release/evidence-vX.Y.Z.json` under the
//! repository root (the truth, with `schema_version`) and `evidence-vX.Y.Z.md` beside it,
//! rendered from the JSON with the sections of the old report (facts §8.5).
//!
//! Every command that takes a target appends its report with [`append`], which also updates
//! the resume checkpoint. Writes are atomic (temp file + rename) and locked: an exclusive
//! `…json.lock` file made with `create_new`, holding the writer's pid and start time. A lock
//! whose pid is gone, or older than [`STALE_AFTER`], is stale and taken over; waiting for a
//! live lock is bounded by [`LOCK_WAIT`]. Every change is a read-modify-write under the lock,
//! so concurrent commands never lose each other's entries and a killed writer never leaves a
//! half-written record.
//!
//! When [`append`] finds no record it creates one with mode [`Mode::Unset`] and the derived
//! base tag; `cargo xtask release evidence vX.Y.Z --mode M --agent A` sets them later without
//! `--force` (an unset mode may be set once).

use std::{fs, time::Duration};

use anyhow::{Context as _, bail};
use camino::{Utf8Path, Utf8PathBuf};
use serde::{Deserialize, Serialize};

use crate::{
    clock::Clock, fsutil, repo::PushState, repo::Repo, report::Evidence, report::Outcome, report::Report,
    report::Verdict, target::ReleaseTarget,
};

mod lock;
mod render;
pub use lock::Lock;
pub use render::markdown;

/// Version of the record's JSON shape.
pub const SCHEMA_VERSION: u32 = 1;
/// A lock older than this is stale, whatever its pid says.
pub const STALE_AFTER: Duration = Duration::from_secs(60);
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
    read(&json_path(repo, target))
}

fn read(path: &Utf8Path) -> anyhow::Result<Option<Record>> {
    match fs::read_to_string(path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e).with_context(|| format!("cannot read {path}")),
        Ok(text) => {
            let record: Record =
                serde_json::from_str(&text).with_context(|| format!("{path} is not a valid evidence record"))?;
            if record.schema_version > SCHEMA_VERSION {
                bail!("{path} has schema_version {}; this tool reads up to {SCHEMA_VERSION}", record.schema_version);
            }
            Ok(Some(record))
        }
    }
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
    let outcome = update(repo, target, clock, |existing| {
        let agent = (!opts.agent.trim().is_empty()).then(|| opts.agent.clone());
        let fresh = || new_record(target, opts.mode, agent.clone(), opts.base_tag.clone(), &now);
        match existing.take() {
            None => {
                *existing = Some(fresh());
                Ok(Init::Created)
            }
            Some(_) if opts.force => {
                let stamp = now.replace(':', "");
                let backup = Utf8PathBuf::from(format!("{path}.bak-{stamp}"));
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
    Ok(outcome)
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
        "publish" => "publish",
        "verify" | "smoke" | "notices" => "verification",
        "blocker" => "blockers",
        _ => "context",
    }
}

/// Appends `report` to the record of `target` and updates the checkpoint (phase, branch and
/// commit, local and remote tag state, last workflow run, open blockers). Waived findings are
/// also kept as decisions. Creates the record (mode unset) when there is none.
pub fn append(repo: &Repo, target: &ReleaseTarget, report: &Report, clock: &Clock) -> anyhow::Result<()> {
    let now = clock.timestamp();
    let live = LiveState::read_for_record(repo, target);
    update(repo, target, clock, |existing| {
        let record = existing.get_or_insert_with(|| {
            let base = repo.base_tag(target).ok().flatten().map(|t| t.tag());
            new_record(target, Mode::Unset, None, base, &now)
        });
        for f in &report.findings {
            if let Outcome::Waived { reason } = &f.outcome {
                record.decisions.push(Decision {
                    timestamp: now.clone(),
                    kind: "waiver".into(),
                    check: Some(f.check.clone()),
                    text: reason.clone(),
                });
            }
        }
        if let Some(run) = report.findings.iter().flat_map(|f| &f.evidence).find_map(|e| match e {
            Evidence::Url { url, .. } if url.contains("/actions/runs/") => Some(url.clone()),
            _ => None,
        }) {
            record.checkpoint.last_run = Some(run);
        }
        record.entries.push(Entry { timestamp: now.clone(), report: report.clone() });
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

    /// Gates that blocked in the newest `qa` report, as `id: detail`.
    pub fn failing_gates(&self) -> Vec<String> {
        self.latest("qa")
            .map(|e| {
                e.report
                    .findings
                    .iter()
                    .filter(|f| f.outcome.blocks())
                    .map(|f| format!("{} {}: {}", f.outcome.word(), f.check, f.detail))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The next step of the runbook, from what the record and `live` say.
    pub fn next_step(&self, live: &LiveState) -> String {
        let t = &self.target;
        let qa = self.latest("qa").map(|e| e.report.verdict);
        if !self.open_blockers().is_empty() {
            return format!(
                "resolve the open blockers, close each (`cargo xtask release blocker {t} --close B1 --reason \"...\"`), then re-run `cargo xtask release qa {t}`"
            );
        }
        match qa {
            None => return format!("run the gates: `cargo xtask release qa {t}`"),
            Some(Verdict::Blocked | Verdict::Incomplete) => {
                return format!("fix the failing gates, then re-run `cargo xtask release qa {t}`");
            }
            Some(Verdict::Ready | Verdict::ReadyWithWaivers) => {}
        }
        if self.mode == Mode::Unset {
            return format!(
                "say how this release runs: `cargo xtask release evidence {t} --mode dry-run|live --agent <you>`"
            );
        }
        if live.tag_local.is_none() {
            return format!("tag the release commit: `git tag -a {t} -m \"Release {t}\"`");
        }
        if let (None, Some(why)) = (live.tag_remote, &live.remote_error) {
            return format!(
                "origin could not be asked whether it has {t} ({why}); check the remote and the network, then `cargo xtask release status {t}`"
            );
        }
        if live.tag_remote != Some(true) {
            return format!("push the tag (this starts the release workflow): `git push origin {t}`");
        }
        match self.latest("verify").map(|e| e.report.verdict) {
            Some(Verdict::Ready | Verdict::ReadyWithWaivers) => "done: every channel verified".into(),
            Some(_) => format!("delivery is not verified: fix forward, then `cargo xtask release verify {t}`"),
            None => match self.latest("provenance").map(|e| e.report.verdict) {
                None => format!("when the release build finishes: `cargo xtask release provenance --tag {t}`"),
                Some(Verdict::Ready | Verdict::ReadyWithWaivers) => format!(
                    "dispatch the publish workflow with the checked build run, then `cargo xtask release verify {t} --wait 20m`"
                ),
                Some(_) => format!(
                    "the build run is not the right one: rebuild the tag, then `cargo xtask release provenance --tag {t}`"
                ),
            },
        }
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
/// `None`) and may replace it; the result is written atomically with its Markdown rendering.
pub fn update<T>(
    repo: &Repo,
    target: &ReleaseTarget,
    clock: &Clock,
    f: impl FnOnce(&mut Option<Record>) -> anyhow::Result<T>,
) -> anyhow::Result<T> {
    let path = json_path(repo, target);
    let folder = dir(repo);
    fs::create_dir_all(&folder).with_context(|| format!("cannot create {folder}"))?;
    let _lock = Lock::acquire(&lock_path(&path), clock)?;
    let mut record = read(&path)?;
    let before = record.clone();
    let value = f(&mut record)?;
    if let Some(r) = record.as_mut()
        && record_changed(&before, r)
    {
        r.checkpoint.updated = clock.timestamp();
        r.checkpoint.open_blockers = r.blockers.iter().filter(|b| b.closed.is_none()).count();
        let json = serde_json::to_string_pretty(r).context("cannot serialize the evidence record")?;
        fsutil::write_atomic(&markdown_path(repo, target), markdown(r).as_bytes())?;
        fsutil::write_atomic(&path, format!("{json}\n").as_bytes())?;
    }
    Ok(value)
}

fn record_changed(before: &Option<Record>, after: &Record) -> bool {
    before.as_ref() != Some(after)
}

fn lock_path(json: &Utf8Path) -> Utf8PathBuf {
    Utf8PathBuf::from(format!("{json}.lock"))
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

    #[test]
    fn next_step_after_the_tag_is_provenance_then_verify() {
        let target = ReleaseTarget::parse("v0.8.0").unwrap();
        let mut record = new_record(&target, Mode::Live, None, None, "now");
        let entry = |command: &str, finding: crate::report::Finding| Entry {
            timestamp: "now".into(),
            report: Report::new(command, Some(target.tag()), vec![finding]),
        };
        record.entries.push(entry("qa", crate::report::Finding::pass("versions", "x", "ok")));
        let live = LiveState { tag_local: Some("abc".into()), tag_remote: Some(true), ..LiveState::default() };
        assert!(record.next_step(&live).contains("release provenance --tag v0.8.0"));
        record.entries.push(entry("provenance", crate::report::Finding::fail("provenance.tag-commit", "x", "moved")));
        assert!(record.next_step(&live).contains("rebuild the tag"));
        record.entries.push(entry("provenance", crate::report::Finding::pass("provenance.tag-commit", "x", "ok")));
        assert!(record.next_step(&live).contains("dispatch the publish workflow"));
        record.entries.push(entry("verify", crate::report::Finding::pass("verify.npm", "x", "ok")));
        assert_eq!(record.next_step(&live), "done: every channel verified");
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
        assert!(record.next_step(&live).contains("blocker v0.8.0 --close B1"), "an open blocker comes first");
    }

    #[test]
    fn modes() {
        assert_eq!(Mode::parse("live").unwrap(), Mode::Live);
        assert!(Mode::parse("wet-run").is_err());
        assert_eq!(serde_json::to_string(&Mode::DryRun).unwrap(), "\"dry-run\"");
    }
}
