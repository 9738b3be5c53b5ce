//! `verify` (every channel after publishing) and `homebrew render|check`.

use anyhow::{Context as _, bail};
use camino::{Utf8Path, Utf8PathBuf};

use super::{HttpLimits, Observer, Recorded, record_run};
use crate::{
    blockers::report as from_report,
    context::Context,
    evidence::RunInfo,
    fsutil,
    manifest::{self, Manifest},
    progress,
    registry::{self, Probe, homebrew},
    report::{Evidence, Report},
    target::ReleaseTarget,
    verify::{self as channels, PartialPublish},
};

/// `verify vX.Y.Z` and its options.
#[derive(Debug, Clone)]
pub struct VerifyRequest {
    /// The release.
    pub target: ReleaseTarget,
    /// What to check: channels, `--deep`, `--wait`, a local formula.
    pub options: channels::Options,
    /// File a blocker for every failed or incomplete check.
    pub file_blockers: bool,
    /// HTTP limits.
    pub http: HttpLimits,
}

/// What `verify` found.
#[derive(Debug, Clone)]
pub struct VerifyOutcome {
    /// The report, recorded in the evidence.
    pub recorded: Recorded,
    /// Set when the release is live on some delivery channels and missing on others.
    pub partial_publish: Option<PartialPublish>,
    /// Rounds run (more than 1 with `--wait`).
    pub rounds: u32,
}

/// Verifies a published release on every channel asked for, and records the report. Each
/// channel, each `--wait` round and each HTTP request and retry reaches `observer` as
/// [`Progress`](crate::progress::Progress), on the calling thread.
pub fn verify(cx: &Context, request: &VerifyRequest, observer: &mut dyn Observer) -> anyhow::Result<VerifyOutcome> {
    let cx = &request.http.apply(cx);
    let result = progress::relay(&mut |event| observer.progress(event), |reporter| {
        channels::run(cx, &request.target, &request.options, &reporter)
    })?;
    let mut report = result.report;
    if request.file_blockers {
        report = from_report::file_for_report(cx, report, &request.target);
    }
    // Fewer channels than all is a subset run: it updates only the channels it checked.
    let run = RunInfo { subset: request.options.is_subset(), agent: None };
    let recorded = record_run(cx, Some(&request.target), report, &run)?;
    Ok(VerifyOutcome { recorded, partial_publish: result.partial_publish, rounds: result.rounds })
}

/// `homebrew render vX.Y.Z --sha256sums FILE [--out FILE]`.
#[derive(Debug, Clone)]
pub struct HomebrewRenderRequest {
    /// The release (pre-releases work).
    pub target: ReleaseTarget,
    /// The release's `sha256sums.txt`.
    pub sha256sums: Utf8PathBuf,
    /// Write the formula here (atomically) instead of returning it only.
    pub out: Option<Utf8PathBuf>,
}

/// Renders the tap's formula for a release from its sums file; returns the formula text.
pub fn homebrew_render(cx: &Context, request: &HomebrewRenderRequest) -> anyhow::Result<String> {
    let manifest = homebrew_manifest(cx)?;
    let sums = read_sums(&request.sha256sums)?;
    let probe = Probe { manifest: Some(&manifest), ..Probe::of(cx, &request.target) };
    let input = homebrew::render_input(&probe, &cx.repo, &sums).with_context(|| request.sha256sums.to_string())?;
    let text = homebrew::render(&input);
    if let Some(out) = &request.out {
        fsutil::write_atomic(out, text.as_bytes())?;
    }
    Ok(text)
}

/// `homebrew check vX.Y.Z --sha256sums FILE [--formula FILE]`.
#[derive(Debug, Clone)]
pub struct HomebrewCheckRequest {
    /// The release.
    pub target: ReleaseTarget,
    /// The release's `sha256sums.txt`.
    pub sha256sums: Utf8PathBuf,
    /// A local formula [default: the tap's, read from GitHub].
    pub formula: Option<Utf8PathBuf>,
    /// HTTP limits.
    pub http: HttpLimits,
}

/// Checks a formula against a sums file: every platform's URL and sha256 align.
pub fn homebrew_check(cx: &Context, request: &HomebrewCheckRequest) -> anyhow::Result<Report> {
    let cx = &request.http.apply(cx);
    let manifest = homebrew_manifest(cx)?;
    let sums = read_sums(&request.sha256sums)?;
    let probe =
        Probe { manifest: Some(&manifest), formula: request.formula.as_deref(), ..Probe::of(cx, &request.target) };
    let findings = match homebrew::fetch_formula(&probe) {
        Ok((text, evidence)) => {
            let mut found = homebrew::check_alignment(&probe, &text, &sums, &evidence);
            for finding in &mut found {
                finding.evidence.push(Evidence::file(request.sha256sums.as_str()));
            }
            found
        }
        Err(e) => vec![e.finding()],
    };
    Ok(Report::new("homebrew check", Some(request.target.tag()), findings))
}

/// The targets manifest, where the Homebrew platforms come from.
pub(super) fn homebrew_manifest(cx: &Context) -> anyhow::Result<Manifest> {
    match &cx.policy.targets {
        Some(t) => manifest::load(&cx.repo.path(&t.manifest), t.manifest.as_str()),
        None => bail!("{}: the policy has no [targets] manifest (the Homebrew platforms come from it)", cx.policy.path),
    }
}

/// The sums file at `path`, parsed; malformed lines are an error naming the file and lines.
pub(super) fn read_sums(path: &Utf8Path) -> anyhow::Result<Vec<registry::SumLine>> {
    let text = std::fs::read_to_string(path).with_context(|| format!("cannot read {path}"))?;
    registry::parse_sums(&text).map_err(|bad| anyhow::anyhow!("{path}: malformed sums file:\n  {}", bad.join("\n  ")))
}
