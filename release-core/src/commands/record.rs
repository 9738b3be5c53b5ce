//! `evidence` (create or reopen the record) and `status` (where a release stands).

use anyhow::bail;
use camino::Utf8PathBuf;
use serde::Serialize;

use crate::{
    context::Context,
    evidence::{self, CheckState, Init, InitOptions, LiveState, Mode, Record, Required, Standing},
    gates,
    repo::PushState,
    report::Verdict,
    target::ReleaseTarget,
};

/// `evidence vX.Y.Z --mode M --agent A [--base-tag T] [--force]`.
#[derive(Debug, Clone)]
pub struct EvidenceRequest {
    /// The release.
    pub target: ReleaseTarget,
    /// `dry-run` or `live`.
    pub mode: Mode,
    /// Who runs the release (not empty).
    pub agent: String,
    /// The base tag [default: the highest release tag below the target].
    pub base_tag: Option<ReleaseTarget>,
    /// Start over even if the record has another mode or base tag (the old file is kept).
    pub force: bool,
}

/// What `evidence` did.
#[derive(Debug, Clone)]
pub struct EvidenceOutcome {
    /// Created, reopened, completed or replaced.
    pub init: Init,
    /// The record's JSON file.
    pub path: Utf8PathBuf,
    /// The record as it now stands.
    pub record: Record,
}

/// Creates or reopens the evidence record of a release.
pub fn evidence(cx: &Context, request: &EvidenceRequest) -> anyhow::Result<EvidenceOutcome> {
    let target = &request.target;
    let base_tag = match &request.base_tag {
        Some(b) => b.tag(),
        None => match cx.repo.base_tag(target)? {
            Some(b) => b.tag(),
            None => bail!("no release tag below {} to use as the base tag: pass --base-tag vX.Y.Z", target.tag()),
        },
    };
    if request.agent.trim().is_empty() {
        bail!("--agent must not be empty (e.g. model@host or your name)");
    }
    let opts = InitOptions {
        mode: request.mode,
        agent: request.agent.clone(),
        base_tag: Some(base_tag),
        force: request.force,
    };
    let init = evidence::init(&cx.repo, target, &opts, &cx.clock)?;
    let Some(record) = evidence::load(&cx.repo, target)? else {
        bail!("the evidence record of {} was written but cannot be read back", target.tag());
    };
    Ok(EvidenceOutcome { init, path: evidence::json_path(&cx.repo, target), record })
}

/// One recent run, as `status` lists it.
#[derive(Debug, Clone, Serialize)]
pub struct LastRun {
    /// When it was recorded.
    pub timestamp: String,
    /// The command.
    pub command: String,
    /// Its verdict.
    pub verdict: Verdict,
}

/// Where a release stands: the record's view and git's, and the next step of the runbook.
#[derive(Debug, Clone, Serialize)]
pub struct Status {
    /// The record's schema version.
    pub schema_version: u32,
    /// The release, `vX.Y.Z`.
    pub target: String,
    /// The record's mode.
    pub mode: Mode,
    /// The record's base tag.
    #[serde(skip)]
    pub base_tag: Option<String>,
    /// The branch (`None`: detached or unknown).
    pub branch: Option<String>,
    /// HEAD.
    pub commit: Option<String>,
    /// HEAD against its upstream (`None`: unknown); in the JSON an object tagged by `state`
    /// (`up_to_date`, `diverged` with `ahead` and `behind`, `no_upstream`, `detached`).
    #[serde(serialize_with = "push_state")]
    pub push: Option<PushState>,
    /// The local tag's commit.
    pub tag_local: Option<String>,
    /// Whether origin has the tag (`None`: unknown).
    pub tag_remote: Option<bool>,
    /// The five most recent runs, newest first.
    pub last_runs: Vec<LastRun>,
    /// QA gates whose latest result at the release commit fails or is incomplete.
    pub failing_gates: Vec<FailingGate>,
    /// The commit the required checks are judged at: the local tag's, else HEAD.
    pub release_commit: Option<String>,
    /// Required checks with no result at the release commit (never ran, or ran only on
    /// another commit), described for people; the checks after the tag only once it exists.
    pub missing_checks: Vec<String>,
    /// Every required check (QA gates, then provenance and the verify channels) and where it
    /// stands at the release commit: `passed`, `waived`, `failing`, `stale` or `missing`.
    pub required_checks: Vec<CheckState>,
    /// Open blockers.
    pub open_blockers: Vec<String>,
    /// What to do next.
    pub next_step: String,
}

/// A QA gate whose latest result at the release commit blocks, as `status` lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FailingGate {
    /// The gate id.
    pub check: String,
    /// `fail` or `incomplete`, the wire names of a finding's `status`.
    pub status: String,
    /// The finding's detail.
    pub detail: String,
}

impl FailingGate {
    /// The gates of `derived` whose latest result at the release commit blocks.
    fn all(derived: &evidence::Derived) -> Vec<FailingGate> {
        let failing = derived.gates.iter().filter_map(|g| match &g.standing {
            Standing::Failing { word, detail } => {
                Some(FailingGate { check: g.check.clone(), status: word.to_ascii_lowercase(), detail: detail.clone() })
            }
            _ => None,
        });
        failing.collect()
    }

    /// The status word in human output (`FAIL`, `INCOMPLETE`).
    pub fn word(&self) -> String {
        self.status.to_ascii_uppercase()
    }
}

/// `PushState` as JSON in snake_case, like every other state the tool prints: an object
/// tagged by `state`, so `diverged` carries its counts as numbers.
fn push_state<S: serde::Serializer>(push: &Option<PushState>, s: S) -> Result<S::Ok, S::Error> {
    #[derive(Serialize)]
    #[serde(tag = "state", rename_all = "snake_case")]
    enum Wire {
        Detached,
        NoUpstream,
        UpToDate,
        Diverged { ahead: usize, behind: usize },
    }
    let wire = push.map(|p| match p {
        PushState::Detached => Wire::Detached,
        PushState::NoUpstream => Wire::NoUpstream,
        PushState::UpToDate => Wire::UpToDate,
        PushState::Diverged { ahead, behind } => Wire::Diverged { ahead, behind },
    });
    wire.serialize(s)
}

/// `status vX.Y.Z`.
#[derive(Debug, Clone)]
pub struct StatusRequest {
    /// The release.
    pub target: ReleaseTarget,
}

/// Reads where a release stands; changes nothing.
pub fn status(cx: &Context, request: &StatusRequest) -> anyhow::Result<Status> {
    let target = &request.target;
    let Some(record) = evidence::load(&cx.repo, target)? else {
        bail!(
            "no evidence record for {t}: start one with `cargo xtask release evidence {t} --mode dry-run|live --agent <you>`",
            t = target.tag()
        );
    };
    let live = LiveState::read(&cx.repo, target);
    let derived = evidence::derive(&record, &live, &required(cx)?);
    let next_step = record.next_step(&live, &derived);
    let required_checks: Vec<CheckState> = derived.gates.iter().chain(&derived.delivery).cloned().collect();
    // The checks after the tag are listed once there is a tag: before it they are all missing
    // by nature, and the list is about what the current step still lacks.
    let in_phase = derived.gates.len() + if live.tag_local.is_some() { derived.delivery.len() } else { 0 };
    let missing_checks = required_checks
        .iter()
        .take(in_phase)
        .filter(|c| matches!(c.standing, Standing::Missing | Standing::Stale { .. }))
        .map(CheckState::describe)
        .collect();
    Ok(Status {
        schema_version: evidence::SCHEMA_VERSION,
        target: record.target.clone(),
        mode: record.mode,
        base_tag: record.base_tag.clone(),
        branch: live.branch,
        commit: live.commit,
        push: live.push,
        tag_local: live.tag_local,
        tag_remote: live.tag_remote,
        last_runs: record
            .entries
            .iter()
            .rev()
            .take(5)
            .map(|e| LastRun {
                timestamp: e.timestamp.clone(),
                command: e.report.command.clone(),
                verdict: e.report.verdict,
            })
            .collect(),
        failing_gates: FailingGate::all(&derived),
        release_commit: derived.release_commit.clone(),
        missing_checks,
        required_checks,
        open_blockers: record.open_blockers(),
        next_step,
    })
}

/// The checks a release of this policy needs: every QA gate of the catalogue; after the tag,
/// `provenance` (always: nothing says the published artifacts are the tag's without it) and
/// `verify.<channel>` for every `[channel.*]` (and `verify.ci` with `[ci]`).
pub(crate) fn required(cx: &Context) -> anyhow::Result<Required> {
    let gates = gates::catalogue(cx)?.into_iter().map(|g| g.id).collect();
    let p = &cx.policy;
    let mut delivery = vec!["provenance".to_string()];
    let c = &p.channels;
    let channels = [
        ("crates", c.crates.is_some()),
        ("npm", c.npm.is_some()),
        ("pypi", c.pypi.is_some()),
        ("github", c.github.is_some()),
        ("homebrew", c.homebrew.is_some()),
        ("ci", p.ci.is_some()),
    ];
    delivery.extend(channels.into_iter().filter(|(_, has)| *has).map(|(name, _)| format!("verify.{name}")));
    Ok(Required { gates, delivery })
}
