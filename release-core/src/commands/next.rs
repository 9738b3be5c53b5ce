//! `next vX.Y.Z`: reads the record and runs the next step of the runbook, then the one after,
//! until the release is done (every channel verified, then the install smoke ready) or a human
//! must decide (start the record, commit the bump, a
//! failure, a waiver, the switch from rehearsal to live). Every step is the command of the same
//! name, so it records itself and refuses what it would refuse on its own; a killed `next` is
//! resumed by running it again (a run it already started is found, never dispatched twice).
//!
//! In dry-run mode every step that changes something outside the working tree (pushing the
//! tag, a live publish) is refused, saying what it would have done; the rehearsal still runs
//! when there is a build to rehearse. A dry run never publishes live, so it never reaches the
//! install smoke either.

use std::time::Duration;

use serde::Serialize;

use super::{Observer, workflow::Wait};
use crate::{
    changelog,
    context::Context,
    evidence::{self, LiveState, Mode, Record},
    repo::PushState,
    report::{CheckId, Finding, Outcome, Report, Verdict},
    target::ReleaseTarget,
    versions as surfaces,
};

/// `next vX.Y.Z [--live] [--timeout D] [--poll D] [--verify-wait D]`.
#[derive(Debug, Clone)]
pub struct NextRequest {
    /// The release.
    pub target: ReleaseTarget,
    /// The human's go for the live publish, once the rehearsal succeeded.
    pub live: bool,
    /// How long to wait for each workflow run.
    pub wait: Wait,
    /// How long `verify` waits for every channel after the live publish; also each channel's
    /// budget in the install smoke after it (the same propagation lag).
    pub verify_wait: Duration,
}

/// Why `next` stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Stop {
    /// Every step is done: every channel verified and the install smoke ready (or every leg
    /// skipped with its reason). The release is complete.
    Done,
    /// A human decides (the detail says what, and the command to run).
    Human,
    /// A step did not pass.
    Blocked,
    /// Dry-run mode: the step would change something outside the working tree.
    DryRun,
}

/// What `next` did and where it stopped.
#[derive(Debug, Clone)]
pub struct NextOutcome {
    /// One finding per step run (its verdict), then the stop.
    pub report: Report,
    /// Why it stopped.
    pub stop: Stop,
    /// What to do now, for people.
    pub what_now: String,
}

/// At most this many steps per call: the runbook has a dozen; a step that passes without
/// advancing the record must not loop.
const MAX_STEPS: usize = 16;

/// Runs the next steps of the release until it is done or a human must decide.
pub fn next(cx: &Context, request: &NextRequest, observer: &mut dyn Observer) -> anyhow::Result<NextOutcome> {
    let target = &request.target;
    let t = target.tag();
    let mut findings = Vec::new();
    let mut last_step = String::new();
    for _ in 0..MAX_STEPS {
        let step = decide(cx, request)?;
        let (name, action) = match step {
            Step::Stop(stop, what_now) => return Ok(stopped(target, findings, stop, what_now)),
            Step::Run(name, action) => (name, action),
        };
        if name == last_step {
            let what_now =
                format!("the step `{name}` passed but the record did not advance: `cargo xtask release status {t}`");
            return Ok(stopped(target, findings, Stop::Blocked, what_now));
        }
        observer.note(&format!("next: {name}"));
        let verdict = run_step(cx, request, &action, observer)?;
        let subject = format!("step {name}");
        findings.push(match verdict {
            Verdict::Ready | Verdict::ReadyWithWaivers => Finding::pass(CheckId::NEXT, subject, "done"),
            Verdict::Incomplete => Finding::incomplete(CheckId::NEXT, subject, "could not be decided (see its report)"),
            Verdict::Blocked => Finding::fail(CheckId::NEXT, subject, "blocked (see its report)"),
        });
        if !matches!(verdict, Verdict::Ready | Verdict::ReadyWithWaivers) {
            if let Action::Smoke = action {
                return Ok(stopped(target, findings, Stop::Blocked, smoke_failed(cx, target)?));
            }
            let what_now = format!(
                "`{name}` did not pass: `cargo xtask release status {t}` shows why; fix it (or file the blocker), then `cargo xtask release next {t}`"
            );
            return Ok(stopped(target, findings, Stop::Blocked, what_now));
        }
        if let Action::Bump { .. } = action {
            let what_now = format!(
                "the release commit `Release {t}` sets the versions and the changelog to {}: review it (`git show`), then `cargo xtask release next {t}` pushes it and runs the gates",
                target.version()
            );
            return Ok(stopped(target, findings, Stop::Human, what_now));
        }
        last_step = name;
    }
    Ok(stopped(target, findings, Stop::Blocked, format!("more than {MAX_STEPS} steps in one call")))
}

fn stopped(target: &ReleaseTarget, mut findings: Vec<Finding>, stop: Stop, what_now: String) -> NextOutcome {
    let subject = format!("next {}", target.tag());
    findings.push(match stop {
        Stop::Done => Finding::pass(CheckId::NEXT, subject, what_now.clone()),
        Stop::Human | Stop::DryRun => Finding::skipped(CheckId::NEXT, subject, what_now.clone()),
        Stop::Blocked => Finding::fail(CheckId::NEXT, subject, what_now.clone()),
    });
    let mut report = Report::new("next", Some(target.tag()), findings);
    report.summary = Some(serde_json::json!({"stop": stop, "what_now": what_now}));
    NextOutcome { report, stop, what_now }
}

/// The next thing to do.
enum Step {
    Run(String, Action),
    Stop(Stop, String),
}

enum Action {
    Bump { versions: bool, finalize: bool },
    Push,
    Qa,
    Preflight,
    Tag,
    Build,
    Provenance,
    Publish { live: bool },
    Verify,
    Smoke,
}

/// Reads the record and git, and says what comes next.
fn decide(cx: &Context, request: &NextRequest) -> anyhow::Result<Step> {
    let target = &request.target;
    let t = target.tag();
    let Some(record) = evidence::load(&cx.repo, target)? else {
        return Ok(Step::Stop(
            Stop::Human,
            format!(
                "start the record, saying how this release runs: `cargo xtask release evidence {t} --mode dry-run|live --agent <you>`"
            ),
        ));
    };
    if record.mode == Mode::Unset {
        return Ok(Step::Stop(
            Stop::Human,
            format!("say how this release runs: `cargo xtask release evidence {t} --mode dry-run|live --agent <you>`"),
        ));
    }
    if !record.open_blockers().is_empty() {
        return Ok(Step::Stop(
            Stop::Human,
            format!(
                "open blockers ({}): resolve and close each (`cargo xtask release blocker {t} --close B1 --reason \"...\"`), then `next` again",
                record.open_blockers().join("; ")
            ),
        ));
    }
    let live = LiveState::read_for_record(&cx.repo, target);
    if live.tag_local.is_none() {
        // Before the tag: the release commit is prepared and checked.
        let versions = surfaces::agreed(&cx.repo, &cx.policy)?.as_ref() != Some(target);
        let finalize = needs_finalize(cx, target)?;
        if versions || finalize {
            return Ok(Step::Run("bump".into(), Action::Bump { versions, finalize }));
        }
        match live.push {
            Some(PushState::UpToDate) => {}
            Some(PushState::Detached) | None => {
                return Ok(Step::Stop(
                    Stop::Human,
                    "HEAD is detached or its branch unknown: check out the release branch, then `next` again"
                        .to_string(),
                ));
            }
            Some(_) if record.mode == Mode::DryRun => {
                return Ok(Step::Stop(
                    Stop::DryRun,
                    format!(
                        "dry-run: the release commit would be pushed to {} (nothing was pushed)",
                        cx.policy.release.remote
                    ),
                ));
            }
            Some(_) => return Ok(Step::Run("push".into(), Action::Push)),
        }
        let at_head = LiveState { tag_local: None, ..live.clone() };
        let derived = evidence::derive(&record, &at_head, &super::record::required(cx)?);
        if !derived.gates_hold() {
            return Ok(Step::Run("qa".into(), Action::Qa));
        }
        if !ready(&record, "preflight") {
            return Ok(Step::Run("preflight".into(), Action::Preflight));
        }
        if record.mode == Mode::DryRun {
            return Ok(Step::Stop(
                Stop::DryRun,
                format!(
                    "dry-run: the release commit is ready; a live release would now push the annotated tag {t} (and {}) to {}; nothing was pushed. The rehearsal needs a pushed tag and its build: run the release live (`cargo xtask release evidence {t} --mode live --agent <you> --force`)",
                    super::tag::tag_names(cx, target)[1..].join(", "),
                    cx.policy.release.remote
                ),
            ));
        }
        return Ok(Step::Run("tag".into(), Action::Tag));
    }
    if live.tag_remote != Some(true) {
        if record.mode == Mode::DryRun {
            return Ok(Step::Stop(
                Stop::DryRun,
                format!("dry-run: the tag {t} would be pushed to origin; nothing was pushed"),
            ));
        }
        return Ok(Step::Run("tag".into(), Action::Tag));
    }
    let commit = evidence::release_commit(&live);
    let at_commit = |e: &&evidence::Entry| e.commit == commit;
    let build_done = record.entries.iter().rev().filter(at_commit).find(|e| e.report.command == "build");
    if !build_done.is_some_and(|e| e.report.verdict == Verdict::Ready) {
        return Ok(Step::Run("build".into(), Action::Build));
    }
    let derived = evidence::derive(&record, &live, &super::record::required(cx)?);
    if derived.delivery.iter().any(|c| c.check == "provenance" && !c.holds()) {
        return Ok(Step::Run("provenance".into(), Action::Provenance));
    }
    let build_run = record
        .entries
        .iter()
        .rev()
        .filter(at_commit)
        .find(|e| e.report.command == "provenance")
        .and_then(|e| e.report.summary.as_ref())
        .and_then(|s| s["run_id"].as_str().map(str::to_string))
        .unwrap_or_default();
    // Where the ready publish of this build run (rehearsal or live) is in the record.
    let publish_at = |rehearsal: bool| {
        record.entries.iter().rposition(|e| {
            e.report.command == "publish"
                && e.report.verdict == Verdict::Ready
                && e.report
                    .summary
                    .as_ref()
                    .is_some_and(|s| s["rehearsal"] == rehearsal && s["build_run_id"] == build_run.as_str())
        })
    };
    let published = |rehearsal: bool| publish_at(rehearsal).is_some();
    if !published(true) {
        return Ok(Step::Run("rehearsal".into(), Action::Publish { live: false }));
    }
    if !published(false) {
        if record.mode == Mode::DryRun {
            return Ok(Step::Stop(
                Stop::DryRun,
                format!(
                    "dry-run complete: the rehearsal of build run {build_run} succeeded; a live release would now publish it, verify every channel and run the install smoke (nothing was published, nothing installed)"
                ),
            ));
        }
        if !request.live {
            return Ok(Step::Stop(
                Stop::Human,
                format!(
                    "the rehearsal of build run {build_run} succeeded: to publish it live, `cargo xtask release next {t} --live`"
                ),
            ));
        }
        return Ok(Step::Run("live publish".into(), Action::Publish { live: true }));
    }
    if !derived.delivery_holds() {
        return Ok(Step::Run("verify".into(), Action::Verify));
    }
    // The last step: the install smoke of what the live publish put out, so only a smoke
    // recorded after it counts (one from before would have installed the previous release).
    let after_live = publish_at(false).map_or(record.entries.len(), |at| at + 1);
    let smoked = record.entries[after_live..].iter().rev().find(|e| e.report.command == "smoke");
    match smoked {
        Some(entry) if crate::evidence::smoke_settled(&entry.report) => Ok(Step::Stop(
            Stop::Done,
            format!(
                "release {t} is complete: every channel verified and the install smoke {}",
                smoke_summary(&entry.report)
            ),
        )),
        _ => Ok(Step::Run("smoke".into(), Action::Smoke)),
    }
}

/// `passed (crates plasmite@0.8.0); skipped: homebrew ... (not macOS)`, for the done message.
fn smoke_summary(report: &Report) -> String {
    let passed: Vec<&str> =
        report.findings.iter().filter(|f| f.outcome == Outcome::Pass).map(|f| f.subject.as_str()).collect();
    let skipped: Vec<String> = report
        .findings
        .iter()
        .filter_map(|f| match &f.outcome {
            Outcome::Skipped { reason } => Some(format!("{} ({reason})", f.subject)),
            _ => None,
        })
        .collect();
    let mut out = if passed.is_empty() {
        "had nothing to install here".to_string()
    } else {
        format!("passed ({})", passed.join(", "))
    };
    if !skipped.is_empty() {
        out.push_str(&format!("; skipped: {}", skipped.join("; ")));
    }
    out
}

/// What to do after a smoke that did not pass: the release is out, so nothing is undone; the
/// failing legs get a blocker, and the smoke is run again once the channel is fixed.
fn smoke_failed(cx: &Context, target: &ReleaseTarget) -> anyhow::Result<String> {
    let t = target.tag();
    let record = evidence::load(&cx.repo, target)?;
    let failing: Vec<&Finding> = record
        .as_ref()
        .and_then(|r| r.latest("smoke"))
        .map(|e| e.report.findings.iter().filter(|f| f.outcome.blocks()).collect())
        .unwrap_or_default();
    let legs: Vec<String> =
        failing.iter().map(|f| format!("{} {} ({})", f.check, f.outcome.word(), f.subject)).collect();
    let check = failing.first().map_or_else(|| CheckId::SMOKE.to_string(), |f| f.check.to_string());
    Ok(format!(
        "the install smoke of {t} did not pass ({}; each leg's log is under .scratch/release/logs/, `cargo xtask release status {t}` shows the report): the release is published, so file the blocker (`cargo xtask release blocker {t} --check {check} --title \"...\" --summary \"...\"`), fix the channel, then re-run the smoke with `cargo xtask release smoke {t}` (or `cargo xtask release next {t}`, which runs it again)",
        if legs.is_empty() { "no leg passed".to_string() } else { legs.join(", ") }
    ))
}

/// Whether the latest entry of `command` is ready.
fn ready(record: &Record, command: &str) -> bool {
    record.latest(command).is_some_and(|e| matches!(e.report.verdict, Verdict::Ready | Verdict::ReadyWithWaivers))
}

/// Whether the changelog has no section for the target yet (its [Unreleased] becomes it).
fn needs_finalize(cx: &Context, target: &ReleaseTarget) -> anyhow::Result<bool> {
    let Some(policy) = &cx.policy.changelog else { return Ok(false) };
    let text = std::fs::read_to_string(cx.repo.path(&policy.file))
        .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", policy.file))?;
    Ok(changelog::parse(&policy.file, &text)?.section(target).is_none())
}

fn run_step(
    cx: &Context,
    request: &NextRequest,
    action: &Action,
    observer: &mut dyn Observer,
) -> anyhow::Result<Verdict> {
    let target = &request.target;
    Ok(match action {
        Action::Bump { versions, finalize } => {
            let mut verdict = Verdict::Ready;
            if *versions {
                let outcome = super::versions(cx, &super::VersionsRequest { set: Some(target.clone()) })?;
                verdict = outcome.report.verdict;
            }
            if *finalize && verdict == Verdict::Ready {
                let request = super::ChangelogRequest {
                    target: target.clone(),
                    work: super::ChangelogWork::Finalize { date: None },
                };
                if let super::ChangelogOutcome::Checked { report, .. } = super::changelog(cx, &request)? {
                    verdict = report.verdict;
                }
            }
            if verdict == Verdict::Ready {
                // The release commit: local, reviewed before the next step pushes it.
                cx.repo.git(&["commit", "--quiet", "--all", "--message", &format!("Release {}", target.tag())])?;
            }
            verdict
        }
        Action::Push => {
            let remote = &cx.policy.release.remote;
            match cx.repo.push_head(remote) {
                Ok(()) => Verdict::Ready,
                Err(e) => {
                    observer.note(&format!("next: pushing the release commit to {remote} failed: {e:#}"));
                    Verdict::Blocked
                }
            }
        }
        Action::Qa => {
            let request = super::QaRequest {
                target: Some(target.clone()),
                base_tag: None,
                mode: None,
                only: Vec::new(),
                waivers: Vec::new(),
                fail_fast: false,
                file_blockers: false,
                agent: None,
            };
            super::qa(cx, &request, observer)?.report.verdict
        }
        Action::Preflight => {
            super::preflight(cx, &super::PreflightRequest { target: Some(target.clone()), live: None })?.report.verdict
        }
        Action::Tag => {
            super::tag(cx, &super::TagRequest { target: target.clone(), remote: None })?.recorded.report.verdict
        }
        Action::Build => {
            let request = super::BuildRequest { target: target.clone(), wait: request.wait, file_blockers: false };
            super::build(cx, &request, observer)?.recorded.report.verdict
        }
        Action::Provenance => {
            let request = super::ProvenanceRequest { which: super::Which::Tag(target.clone()), expect: None };
            super::provenance(cx, &request)?.report.verdict
        }
        Action::Publish { live } => {
            let request = super::PublishRequest {
                target: target.clone(),
                live: *live,
                recover: false,
                wait: request.wait,
                verify_wait: request.verify_wait,
                file_blockers: false,
            };
            let outcome = super::publish(cx, &request, observer)?;
            match &outcome.verified {
                Some(v) if v.recorded.report.verdict != Verdict::Ready => v.recorded.report.verdict,
                _ => outcome.recorded.report.verdict,
            }
        }
        Action::Verify => {
            let request = super::VerifyRequest {
                target: target.clone(),
                options: crate::verify::Options {
                    wait: Some(request.verify_wait),
                    ..crate::verify::Options::default()
                },
                file_blockers: false,
                http: super::HttpLimits::default(),
            };
            super::verify(cx, &request, observer)?.recorded.report.verdict
        }
        Action::Smoke => {
            // The channels and the legs skipped on this platform are the smoke's to decide
            // (the policy's `[smoke] channels`, else every `[channel.*]`).
            let request = super::SmokeRequest {
                target: target.clone(),
                channels: None,
                max_wait: request.verify_wait,
                backoff: crate::smoke::Backoff::default(),
                keep_scratch: false,
            };
            let report = super::smoke(cx, &request, observer)?.recorded.report;
            if crate::evidence::smoke_settled(&report) { Verdict::Ready } else { report.verdict }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::evidence::smoke_settled;

    fn smoke(findings: Vec<Finding>) -> Report {
        Report::new("smoke", Some("v0.8.0".into()), findings)
    }

    #[test]
    fn a_smoke_is_settled_when_ready_or_when_every_leg_is_skipped_with_its_reason() {
        let brew = || Finding::skipped(CheckId::SMOKE_HOMEBREW, "homebrew sandover/tap/plasmite", "not macOS");
        let crates = || Finding::pass(CheckId::SMOKE_CRATES, "crates plasmite@0.8.0", "plasmite 0.8.0");
        let ready = smoke(vec![crates(), brew()]);
        assert!(smoke_settled(&ready));
        assert_eq!(
            smoke_summary(&ready),
            "passed (crates plasmite@0.8.0); skipped: homebrew sandover/tap/plasmite (not macOS)"
        );
        // Nothing to install on this machine: incomplete as a report, yet nothing is left to do.
        let skipped = smoke(vec![brew()]);
        assert_eq!(skipped.verdict, Verdict::Incomplete);
        assert!(smoke_settled(&skipped));
        assert!(smoke_summary(&skipped).starts_with("had nothing to install here; skipped: homebrew"));
        // A leg that failed or could not be decided is never settled, nor is an empty smoke.
        let failed = Finding::fail(CheckId::SMOKE_CRATES, "crates plasmite@0.8.0", "plasmite 0.8.01");
        assert!(!smoke_settled(&smoke(vec![failed, brew()])));
        let missing = Finding::incomplete(CheckId::SMOKE_NPM, "npm plasmite@0.8.0", "`npm` is not on PATH");
        assert!(!smoke_settled(&smoke(vec![missing, brew()])));
        assert!(!smoke_settled(&smoke(Vec::new())));
    }
}
