//! `publish vX.Y.Z --rehearsal|--live [--recover]`: checks the build run's provenance first,
//! dispatches the publish workflow with the tag (with the build run id only for `--recover`),
//! waits and records like `build`, and after a live publish verifies every channel. `--live`
//! is refused unless the mode is live, `preflight` is ready and a rehearsal of the same build
//! run succeeded. A recovery re-dispatches for the same build run, never a new tag, and is
//! kept as an incident in the record.

use std::time::Duration;

use anyhow::Context as _;
use serde_json::{Value, json};

use super::{
    Observer, record,
    workflow::{
        RunOutcome, Wait, client, dispatch_and_find, failed_jobs, finish, is_failed, run_findings, runs_of, summary,
        watch,
    },
};
use crate::{
    context::Context,
    duration,
    evidence::{self, Decision, Mode, Record},
    provenance::{self as build_provenance, Which},
    report::{CheckId, Finding, Verdict},
    target::ReleaseTarget,
    verify,
};

/// `publish vX.Y.Z --rehearsal|--live [--recover]`.
#[derive(Debug, Clone)]
pub struct PublishRequest {
    /// The release.
    pub target: ReleaseTarget,
    /// A live publish (else a rehearsal: everything but the registries and the release).
    pub live: bool,
    /// Re-dispatch for the build run of the last failed publish of this release (its id goes
    /// to the workflow as `build_run_id`); recorded as an incident.
    pub recover: bool,
    /// How long to wait for the run.
    pub wait: Wait,
    /// After a live publish: how long `verify` waits for every channel.
    pub verify_wait: Duration,
    /// File a blocker for a failed run (else one is offered).
    pub file_blockers: bool,
}

/// A previous publish of this release, as the record keeps it.
fn publishes(record: &Record) -> impl Iterator<Item = (&evidence::Entry, &Value)> {
    record
        .entries
        .iter()
        .filter(|e| e.report.command == "publish")
        .filter_map(|e| e.report.summary.as_ref().map(|s| (e, s)))
}

/// Why a publish may not be dispatched now; empty when it may. Shared with `next`.
pub(crate) fn publish_refusals(record: Option<&Record>, build_run: &str, live: bool, recover: bool) -> Vec<String> {
    let Some(record) = record else { return vec!["no evidence record: start one with `evidence`".into()] };
    let mut why = Vec::new();
    let t = &record.target;
    if live {
        if record.mode != Mode::Live {
            why.push(format!(
                "the record's mode is {}: only a live release publishes live (a dry run ends after the rehearsal)",
                record.mode.as_str()
            ));
        }
        match record.latest("preflight") {
            Some(e) if e.report.verdict == Verdict::Ready => {}
            Some(e) => why.push(format!(
                "the last preflight is {}: fix what it reports, then `cargo xtask release preflight {t} --live`",
                e.report.verdict
            )),
            None => why.push(format!("preflight never ran: `cargo xtask release preflight {t} --live`")),
        }
        let rehearsed = publishes(record).any(|(e, s)| {
            s["rehearsal"] == true && s["build_run_id"] == build_run && e.report.verdict == Verdict::Ready
        });
        if !rehearsed {
            why.push(format!(
                "no successful rehearsal of build run {build_run}: `cargo xtask release publish {t} --rehearsal` first"
            ));
        }
    }
    if recover {
        let failed = publishes(record)
            .filter(|(_, s)| s["build_run_id"] == build_run && s["rehearsal"] == !live)
            .last()
            .is_some_and(|(e, _)| e.report.verdict != Verdict::Ready);
        if !failed {
            why.push(format!(
                "nothing to recover: the last {} publish of build run {build_run} did not fail",
                if live { "live" } else { "rehearsal" }
            ));
        }
    }
    why
}

/// Checks provenance, dispatches the publish workflow, waits and records; after a live
/// publish, verifies every channel.
pub fn publish(cx: &Context, request: &PublishRequest, observer: &mut dyn Observer) -> anyhow::Result<RunOutcome> {
    let target = &request.target;
    let t = target.tag();
    let gh = client(cx)?;
    let workflow = cx.policy.release.publish_workflow.clone().with_context(|| {
        format!("{}: `publish` needs `[release] publish_workflow` (the publish workflow file)", cx.policy.path)
    })?;
    let kind = if request.live { "live" } else { "rehearsal" };
    // Provenance first: the build run a publish would use, proven (and recorded).
    observer.note(&format!("publish: proving the build run of {t} first (provenance)"));
    let proven = build_provenance::check(cx, &Which::Tag(target.clone()), None)?;
    let build_run = proven.summary.as_ref().and_then(|s| s["run_id"].as_str()).unwrap_or_default().to_string();
    let proven_ok = proven.verdict == Verdict::Ready;
    let proven_words = proven.verdict.to_string();
    record(cx, Some(target), proven)?;
    let mut why = Vec::new();
    if !proven_ok || build_run.is_empty() {
        why.push(format!(
            "the build run's provenance is {proven_words}: `cargo xtask release provenance --tag {t}` says why; rebuild the tag, never re-tag"
        ));
    }
    let record_now = evidence::load(&cx.repo, target)?;
    why.extend(publish_refusals(record_now.as_ref(), &build_run, request.live, request.recover));
    let check = CheckId::PUBLISH_RUN;
    let subject = format!("{workflow} {kind} of {t}");
    if !why.is_empty() {
        let findings = why.into_iter().map(|w| Finding::fail(CheckId::PUBLISH_REFUSED, &subject, w)).collect();
        let extra = json!({"rehearsal": !request.live, "build_run_id": build_run, "refused": true});
        return finish(cx, target, "publish", findings, Some(extra), false);
    }
    let mut inputs = serde_json::Map::new();
    inputs.insert("rehearsal".into(), Value::String((!request.live).to_string()));
    if request.recover {
        // The recovery path of the workflow: the same build run, never a new tag.
        inputs.insert("build_run_id".into(), Value::String(build_run.clone()));
        incident(
            cx,
            target,
            &format!(
                "recovery: {kind} publish re-dispatched for build run {build_run} (the same tag, never a new one) after a failed publish"
            ),
        )?;
    } else {
        inputs.insert("release_tag".into(), Value::String(t.clone()));
    }
    let extra = json!({"rehearsal": !request.live, "build_run_id": build_run, "recover": request.recover});
    // The runs before the dispatch tell the new one apart: without them an older dispatched
    // run could be taken for it, so a listing that fails stops here like the dispatch itself.
    let reached = (|| {
        let before = runs_of(&gh, &workflow, &t)?;
        observer.note(&format!("publish: dispatching {workflow} ({kind}) for build run {build_run}"));
        let run_id = dispatch_and_find(cx, &gh, &workflow, &t, &inputs, &before, request.wait)?;
        watch(cx, &gh, run_id, request.wait, "publish", observer)
    })();
    let watched = match reached {
        Ok(watched) => watched,
        Err(f) => {
            let findings = vec![f.into_finding(&check, &subject)];
            return finish(cx, target, "publish", findings, Some(extra), request.file_blockers);
        }
    };
    let mut findings = run_findings(&gh, &check, &subject, &watched);
    findings.extend(failed_jobs(&gh, &watched));
    if watched.jobs.iter().any(|j| is_failed(j) && j.name.starts_with("sync-homebrew-tap")) {
        findings.push(Finding::fail(
            CheckId::PUBLISH_RUN,
            "sync-homebrew-tap",
            format!(
                "the tap job failed: check HOMEBREW_TAP_TOKEN (`cargo xtask release preflight {t} --live`), fix it, then `cargo xtask release publish {t} --{} --recover` (the same build run {build_run})",
                if request.live { "live" } else { "rehearsal" }
            ),
        ));
    }
    let summary = summary(&watched, &workflow, true, Some(extra));
    let mut outcome = finish(cx, target, "publish", findings, Some(summary), request.file_blockers)?;
    if request.live && outcome.recorded.report.verdict == Verdict::Ready {
        observer.note(&format!(
            "publish: live publish done; verifying every channel (up to {})",
            duration::format(request.verify_wait)
        ));
        let verify_request = super::VerifyRequest {
            target: target.clone(),
            options: verify::Options { wait: Some(request.verify_wait), ..verify::Options::default() },
            file_blockers: request.file_blockers,
            http: super::HttpLimits::default(),
        };
        let verified = super::verify(cx, &verify_request, observer)?;
        if let Some(partial) = &verified.partial_publish {
            incident(
                cx,
                target,
                &format!(
                    "partial publish of build run {build_run}: {}; recovery: `cargo xtask release publish {t} --live --recover` (the same build run, never a new tag)",
                    partial.recovery
                ),
            )?;
        }
        outcome.verified = Some(verified);
    }
    Ok(outcome)
}

/// Keeps an incident in the record's decisions.
fn incident(cx: &Context, target: &ReleaseTarget, text: &str) -> anyhow::Result<()> {
    let now = cx.clock.timestamp();
    evidence::update(&cx.repo, target, &cx.clock, |record| {
        let record = record.get_or_insert_with(|| Record::unset(target, &now));
        record.decisions.push(Decision {
            timestamp: now.clone(),
            kind: "incident".into(),
            check: Some("publish".into()),
            text: text.to_string(),
            commit: None,
            by: record.agent.clone(),
        });
        Ok(())
    })
}
