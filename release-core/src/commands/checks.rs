//! `bench`, `notices`, `smoke` and `provenance`: the checks that build, read archives, install
//! or ask GitHub, each recorded in the evidence.

use std::time::Duration;

use anyhow::Context as _;

use camino::Utf8PathBuf;

use super::{Recorded, record};
use crate::{
    bench::{self as benchmark, BenchOptions},
    context::Context,
    duration,
    manifest::Channel,
    notices as notice_files, progress,
    provenance::{self as build_provenance, Which},
    smoke::{self as install, Backoff, SmokeOptions},
    target::ReleaseTarget,
};

use super::Observer;

/// `bench --base-tag vX.Y.Z` and its options (validated with [`BenchOptions::validate`]).
pub type BenchRequest = BenchOptions;

/// Benchmarks the candidate against the base tag; records the report under the version the
/// surfaces agree on.
pub fn bench(cx: &Context, request: &BenchRequest, observer: &mut dyn Observer) -> anyhow::Result<Recorded> {
    request.validate()?;
    observer.note(&format!(
        "bench: building {} and the candidate, then {} interleaved runs each...",
        request.base_tag, request.runs
    ));
    // Each build and run reaches the observer as a step.
    let report = progress::relay(&mut |event| observer.progress(event), |reporter| {
        benchmark::run(&cx.repo, cx.policy.bench.as_ref(), request, &cx.clock, &reporter)
    })?;
    record(cx, None, report)
}

/// `notices [PATH...]`.
#[derive(Debug, Clone, Default)]
pub struct NoticesRequest {
    /// Archives or folders to check [default: the policy's artifact folders].
    pub paths: Vec<Utf8PathBuf>,
    /// The release whose archives count [default: the version every surface agrees on].
    pub target: Option<ReleaseTarget>,
}

/// Checks licence and notice files at the root, in copies and in every archive of the target
/// (archives named for another version do not count); records the report under the target.
pub fn notices(cx: &Context, request: &NoticesRequest) -> anyhow::Result<Recorded> {
    let target = match &request.target {
        Some(t) => t.clone(),
        // Which archives count depends on the target: never guess it.
        None => super::default_target(cx).context("notices needs the release its archives are for (--target)")?,
    };
    // The manifest says which SDK archives cargo-binstall installs from; without one that
    // part is not checked.
    let manifest = match &cx.policy.targets {
        Some(t) => Some(crate::manifest::load(&cx.repo.path(&t.manifest), t.manifest.as_str())?),
        None => None,
    };
    let inside = notice_files::Inside { artifacts: &cx.policy.artifacts, manifest: manifest.as_ref() };
    let report = notice_files::check(&cx.repo, &cx.policy.notices, &inside, &request.paths, &target)?;
    record(cx, Some(&target), report)
}

/// `smoke vX.Y.Z` and its options.
#[derive(Debug, Clone)]
pub struct SmokeRequest {
    /// The release.
    pub target: ReleaseTarget,
    /// The channels [default: those with a `[channel.*]` table in the policy].
    pub channels: Option<Vec<Channel>>,
    /// Each channel's own time budget.
    pub max_wait: Duration,
    /// Delays between attempts.
    pub backoff: Backoff,
    /// Keep the scratch dir.
    pub keep_scratch: bool,
}

/// What `smoke` did.
#[derive(Debug, Clone)]
pub struct SmokeOutcome {
    /// One finding per channel leg, recorded in the evidence.
    pub recorded: Recorded,
    /// The scratch dir, when it was kept.
    pub kept: Option<Utf8PathBuf>,
}

/// Installs the release from each channel and runs it; records the report.
pub fn smoke(cx: &Context, request: &SmokeRequest, observer: &mut dyn Observer) -> anyhow::Result<SmokeOutcome> {
    let channels = match &request.channels {
        Some(channels) => channels.clone(),
        None => install::policy_channels(&cx.policy)?,
    };
    let opts = SmokeOptions {
        max_wait: request.max_wait,
        backoff: request.backoff,
        keep_scratch: request.keep_scratch,
        ..SmokeOptions::new(channels)
    };
    opts.validate()?;
    let names: Vec<&str> = opts.channels.iter().map(|c| c.name()).collect();
    observer.note(&format!(
        "smoke {}: installing from {} (each channel may take up to {})...",
        request.target.tag(),
        names.join(", "),
        duration::format(request.max_wait)
    ));
    // Each attempt of each channel reaches the observer as a step.
    let run = progress::relay(&mut |event| observer.progress(event), |reporter| {
        let opts = SmokeOptions { progress: reporter, ..opts };
        install::run(&cx.repo, &cx.policy, &request.target, &opts, &cx.clock, &cx.env)
    })?;
    Ok(SmokeOutcome { recorded: record(cx, Some(&request.target), run.report)?, kept: run.kept })
}

/// `provenance --run-id ID [--expect-tag T] | --tag T`.
#[derive(Debug, Clone)]
pub struct ProvenanceRequest {
    /// The run, or the tag whose newest successful build run to find.
    pub which: Which,
    /// With a run id: the tag the build must be of.
    pub expect: Option<ReleaseTarget>,
}

/// Proves which build run a publish would use; records the report.
pub fn provenance(cx: &Context, request: &ProvenanceRequest) -> anyhow::Result<Recorded> {
    let report = build_provenance::check(cx, &request.which, request.expect.as_ref())?;
    record(cx, None, report)
}
