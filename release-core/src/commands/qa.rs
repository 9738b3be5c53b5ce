//! `qa`: every QA gate for a release, recorded in its evidence.

use anyhow::bail;

use super::{Recorded, default_target, record_run};
use crate::{
    blockers::report as from_report,
    context::Context,
    evidence::{self, Mode, RunInfo},
    gates::{self, Observer, Plan, Waiver},
    target::ReleaseTarget,
};

/// `qa [vX.Y.Z]` and its options.
#[derive(Debug, Clone, Default)]
pub struct QaRequest {
    /// The release [default: the version every surface agrees on].
    pub target: Option<ReleaseTarget>,
    /// The base tag for `when_changed` gates [default: the record's, else derived from tags].
    pub base_tag: Option<ReleaseTarget>,
    /// The mode to record when this run creates the evidence record; must match an existing one.
    pub mode: Option<Mode>,
    /// Run only these gates (the others are skipped).
    pub only: Vec<String>,
    /// Gates not to run, each with its reason.
    pub waivers: Vec<Waiver>,
    /// Stop at the first blocking gate.
    pub fail_fast: bool,
    /// File a blocker for every failed or incomplete gate.
    pub file_blockers: bool,
    /// Who runs this (recorded with any waiver) [default: the record's agent].
    pub agent: Option<String>,
}

/// The least a waiver's reason must say in a live release: a few words, not "x".
pub const LIVE_REASON_MIN_CHARS: usize = 20;
/// The fewest words a live waiver's reason may have.
pub const LIVE_REASON_MIN_WORDS: usize = 3;

/// In a live release a waiver needs a reason of substance and someone who answers for it.
fn check_live_waivers(request: &QaRequest, recorded_agent: Option<&str>) -> anyhow::Result<()> {
    for w in &request.waivers {
        let reason = w.reason.trim();
        if reason.chars().count() < LIVE_REASON_MIN_CHARS || reason.split_whitespace().count() < LIVE_REASON_MIN_WORDS {
            bail!(
                "waiving `{}` in a live release needs a reason of substance (at least {LIVE_REASON_MIN_WORDS} words and {LIVE_REASON_MIN_CHARS} characters), not {:?}",
                w.id,
                w.reason
            );
        }
    }
    let agent = request.agent.as_deref().or(recorded_agent).filter(|a| !a.trim().is_empty());
    if !request.waivers.is_empty() && agent.is_none() {
        bail!(
            "a waiver in a live release records who gave it: pass --agent <you> (the evidence record names no agent)"
        );
    }
    Ok(())
}

/// Runs the gates, files blockers if asked, and records the report.
pub fn qa(cx: &Context, request: &QaRequest, observer: &mut dyn Observer) -> anyhow::Result<Recorded> {
    let target = match &request.target {
        Some(t) => t.clone(),
        None => default_target(cx)?,
    };
    let existing = evidence::load(&cx.repo, &target)?;
    if let (Some(r), Some(mode)) = (&existing, request.mode)
        && r.mode != Mode::Unset
        && r.mode != mode
    {
        bail!(
            "the evidence record of {t} says mode {}, not {m}: use `cargo xtask release evidence {t} --mode {m} --agent A --force` to start over",
            r.mode.as_str(),
            t = target.tag(),
            m = mode.as_str(),
        );
    }
    let base_tag = match &request.base_tag {
        Some(b) => Some(b.tag()),
        None => match existing.as_ref().and_then(|r| r.base_tag.clone()) {
            Some(b) => Some(b),
            None => cx.repo.base_tag(&target)?.map(|t| t.tag()),
        },
    };
    let mut plan = Plan::new(target.clone());
    plan.base_tag = base_tag;
    plan.only = request.only.clone();
    plan.waivers = request.waivers.clone();
    plan.fail_fast = request.fail_fast;
    plan.redactor = crate::redact::Redactor::from_env(&cx.env);
    plan.open_blockers = existing.as_ref().map(|r| r.open_blockers()).unwrap_or_default();
    gates::check_selection(&gates::catalogue(cx)?, &plan)?;
    let mode = existing.as_ref().map(|r| r.mode).filter(|m| *m != Mode::Unset).or(request.mode);
    if mode == Some(Mode::Live) {
        check_live_waivers(request, existing.as_ref().and_then(|r| r.agent.as_deref()))?;
    }
    if let Some(mode) = request.mode
        && existing.is_none()
    {
        let opts = evidence::InitOptions { mode, agent: String::new(), base_tag: plan.base_tag.clone(), force: false };
        evidence::init(&cx.repo, &target, &opts, &cx.clock)?;
    }
    let mut report = gates::run(cx, &plan, observer)?;
    if request.file_blockers {
        report = from_report::file_for_report(cx, report, &target);
    }
    let run = RunInfo { subset: !request.only.is_empty(), agent: request.agent.clone() };
    record_run(cx, Some(&target), report, &run)
}
