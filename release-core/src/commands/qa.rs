//! `qa`: every QA gate for a release, recorded in its evidence.

use anyhow::bail;

use super::{Recorded, default_target, record};
use crate::{
    blockers::report as from_report,
    context::Context,
    evidence::{self, Mode},
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
    plan.secrets = cx.env.secrets();
    plan.open_blockers = existing.as_ref().map(|r| r.open_blockers()).unwrap_or_default();
    gates::check_selection(&gates::catalogue(cx)?, &plan)?;
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
    record(cx, Some(&target), report)
}
