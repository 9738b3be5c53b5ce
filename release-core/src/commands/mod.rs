//! Every `cargo xtask release` command as a library function: a [`Context`] and a request value
//! in, an outcome value out (the report, plus what the command produced), progress through an
//! [`Observer`]. The command line only turns flags into a request and an outcome into text, so
//! a contributor who calls these functions gets exactly what the command does.
//!
//! Evidence is decided here, once. The commands that **record** append their report to the
//! evidence record of their target (`.scratch/release/evidence-vX.Y.Z.json`, created with mode
//! `unset` if missing): `qa`, `verify`, `blocker`, `bench`, `notices`, `smoke`, `provenance`, `preflight`, `tag`, `build`,
//! `publish` (a `blocker --dry-run` records nothing; `next` records through the steps it runs).
//! A recording command without a target of its own (`bench`) records under the version every
//! surface agrees on, and records nothing when they disagree; `notices` takes `--target`,
//! defaulting to that agreed version, and refuses to guess when the surfaces disagree (its
//! target decides which archives count). `evidence` creates
//! or reopens the record; `status` only reads it; `versions`, `changelog`, `targets`,
//! `endpoints` and `homebrew` never touch it.

mod blocker;
mod checks;
mod endpoints;
mod homebrew_update;
mod next;
mod preflight;
mod publish;
mod qa;
mod record;
mod repo_files;
mod tag;
mod verify;
mod workflow;

use std::time::Duration;

use anyhow::Context as _;
use camino::Utf8PathBuf;

pub use blocker::{BlockerOutcome, BlockerRequest, CloseRequest, FileRequest, blocker, file_for_report};
pub use checks::{
    BenchRequest, NoticesRequest, ProvenanceRequest, SmokeOutcome, SmokeRequest, bench, notices, provenance, smoke,
};
pub use endpoints::{EndpointLine, EndpointsOutcome, TrustLine, endpoints};
pub use homebrew_update::{HomebrewUpdateOutcome, HomebrewUpdateRequest, LineChange, UpdateWrite, homebrew_update};
pub use next::{NextOutcome, NextRequest, Stop, next};
pub use preflight::{PreflightRequest, preflight};
pub use publish::{PublishRequest, publish};
pub use qa::{QaRequest, qa};
pub use record::{EvidenceOutcome, EvidenceRequest, FailingGate, LastRun, Status, StatusRequest, evidence, status};
pub use repo_files::{
    ChangelogOutcome, ChangelogRequest, ChangelogWork, TargetsListing, TargetsOutcome, TargetsRequest, VersionsOutcome,
    VersionsRequest, changelog, recover_bump, targets, versions,
};
pub use tag::{TagOutcome, TagRequest, tag};
pub use verify::{
    HomebrewCheckRequest, HomebrewRenderRequest, VerifyOutcome, VerifyRequest, homebrew_check, homebrew_render, verify,
};
pub use workflow::{BuildRequest, LOG_LINES, RunOutcome, Wait, build};

use crate::{
    context::Context, evidence, http::HttpConfig, report::Report, target::ReleaseTarget, versions as surfaces,
};

pub use crate::{
    bench::{BenchOptions, Thresholds},
    evidence::{Init, Mode, Record},
    gates::{Gate, Observer, Silent, Waiver},
    progress::Progress,
    provenance::Which,
    smoke::{Backoff, parse_channels as parse_smoke_channels},
    verify::{Options as VerifyOptions, PartialPublish, parse_channels as parse_verify_channels},
    versions::Change,
};

/// A report that was appended to an evidence record, and where.
#[derive(Debug, Clone)]
pub struct Recorded {
    /// The report, its `target` filled in.
    pub report: Report,
    /// The evidence record it went into; `None` when the command had no target and the version
    /// surfaces disagree, so there was no release to record it under.
    pub evidence: Option<Utf8PathBuf>,
}

/// The one way a recording command's report reaches the evidence record: under `target`, else
/// under the report's own target, else under the version every surface agrees on.
fn record(cx: &Context, target: Option<&ReleaseTarget>, report: Report) -> anyhow::Result<Recorded> {
    record_run(cx, target, report, &evidence::RunInfo::default())
}

/// [`record`], keeping how the report came about (a subset run, who ran it).
fn record_run(
    cx: &Context,
    target: Option<&ReleaseTarget>,
    report: Report,
    run: &evidence::RunInfo,
) -> anyhow::Result<Recorded> {
    // Nothing reaches the record (or the output after it) unredacted: ergo's stderr, build
    // logs and gate tails all travel in the report's strings.
    let mut value = serde_json::to_value(&report).context("cannot serialize the report for redaction")?;
    crate::redact::Redactor::from_env(&cx.env).redact_value(&mut value);
    let mut report: Report = serde_json::from_value(value).context("cannot read back the redacted report")?;
    let target = match (target, &report.target) {
        (Some(t), _) => Some(t.clone()),
        (None, Some(tag)) => Some(ReleaseTarget::parse(tag)?),
        (None, None) => surfaces::agreed(&cx.repo, &cx.policy)?,
    };
    let Some(target) = target else { return Ok(Recorded { report, evidence: None }) };
    report.target = Some(target.tag());
    evidence::append(&cx.repo, &target, &report, run, &cx.clock)
        .with_context(|| format!("cannot record the {} report in the evidence of {}", report.command, target.tag()))?;
    Ok(Recorded { report, evidence: Some(evidence::json_path(&cx.repo, &target)) })
}

/// The release a command is about when none was named: the version every surface agrees on.
fn default_target(cx: &Context) -> anyhow::Result<ReleaseTarget> {
    match surfaces::agreed(&cx.repo, &cx.policy)? {
        Some(t) => Ok(t),
        None => anyhow::bail!("the version surfaces disagree, so there is no default target: pass vX.Y.Z"),
    }
}

/// HTTP limits a command may tighten (the defaults suit the public services; tests make them
/// small).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct HttpLimits {
    /// Time limit of one request [default: 60s].
    pub timeout: Option<Duration>,
    /// Extra attempts on transport errors, 429 and 5xx [default: 3].
    pub retries: Option<u32>,
}

impl HttpLimits {
    /// `cx` with these limits applied; unchanged when none is set.
    fn apply(self, cx: &Context) -> Context {
        if self.timeout.is_none() && self.retries.is_none() {
            return cx.clone();
        }
        let mut config = HttpConfig::default();
        if let Some(d) = self.timeout {
            config.request_timeout = d;
            config.connect_timeout = config.connect_timeout.min(d);
            config.backoff_cap = config.backoff_cap.min(d);
            config.backoff_base = config.backoff_base.min(d / 4);
        }
        if let Some(n) = self.retries {
            config.retries = n;
        }
        cx.clone().with_http(config, crate::http::TokenSource::Discover)
    }
}
