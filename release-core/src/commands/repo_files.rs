//! `versions`, `changelog` and `targets`: the commands that read (and edit) the repository's
//! own release files. None of them records evidence.

use anyhow::{Context as _, bail};
use camino::{Utf8Path, Utf8PathBuf};

use crate::{
    changelog as cl,
    clock::Date,
    context::Context,
    fsutil,
    manifest::{self, Manifest, Tier},
    report::{CheckId, Evidence, Finding, Report},
    target::ReleaseTarget,
    versions::{self as surfaces, Change},
};

/// `versions [--set X.Y.Z]`.
#[derive(Debug, Clone, Default)]
pub struct VersionsRequest {
    /// Set this version on every surface (all or nothing), then check against it.
    pub set: Option<ReleaseTarget>,
}

/// What `versions` did.
#[derive(Debug, Clone)]
pub struct VersionsOutcome {
    /// The surfaces' agreement (with `set`: each surface against the new version).
    pub report: Report,
    /// The files `set` changed, each with the versions it replaced.
    pub changes: Vec<Change>,
    /// What finishing or undoing an interrupted `versions --set` did first, if there was one.
    pub recovered: Option<String>,
}

/// Checks that every version surface agrees, after setting the new version if asked. An
/// interrupted `versions --set` is completed or rolled back first ([`recover_bump`]).
pub fn versions(cx: &Context, request: &VersionsRequest) -> anyhow::Result<VersionsOutcome> {
    let recovered = recover_bump(cx)?;
    Ok(match &request.set {
        Some(target) => {
            let changes = surfaces::bump(&cx.repo, &cx.policy, target)?;
            VersionsOutcome { report: surfaces::check_target(&cx.repo, &cx.policy, target)?, changes, recovered }
        }
        None => VersionsOutcome { report: surfaces::check(&cx.repo, &cx.policy)?, changes: Vec::new(), recovered },
    })
}

/// Completes or rolls back a `versions --set` that was killed (its journal is in the git
/// directory), saying what it did; `None` when there was nothing to do.
pub fn recover_bump(cx: &Context) -> anyhow::Result<Option<String>> {
    surfaces::recover(&cx.repo)
}

/// What `changelog` is asked to do besides checking.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ChangelogWork {
    /// Check that the release has a dated section.
    #[default]
    Check,
    /// Turn `[Unreleased]` into the release's section dated `date` (default: today, UTC), then check.
    Finalize {
        /// The section's date.
        date: Option<Date>,
    },
    /// Extract the release notes exactly as the publish workflow does.
    Notes,
}

/// `changelog vX.Y.Z [--finalize [--date D] | --notes]`.
#[derive(Debug, Clone)]
pub struct ChangelogRequest {
    /// The release.
    pub target: ReleaseTarget,
    /// What to do.
    pub work: ChangelogWork,
}

/// What `changelog` gave.
#[derive(Debug, Clone)]
pub enum ChangelogOutcome {
    /// The check (after finalizing, when asked).
    Checked {
        /// One finding: the release's section.
        report: Report,
        /// The section that `--finalize` wrote (`## [X.Y.Z] - date`), if it did.
        finalized: Option<String>,
    },
    /// The release notes; `None` when the changelog has none for the release (the publish
    /// workflow would fall back to a link).
    Notes {
        /// The changelog file, relative to the root.
        file: Utf8PathBuf,
        /// The notes text.
        notes: Option<String>,
    },
}

/// Checks, finalizes or extracts the notes of the changelog's section for a release.
pub fn changelog(cx: &Context, request: &ChangelogRequest) -> anyhow::Result<ChangelogOutcome> {
    let Some(policy) = &cx.policy.changelog else {
        bail!("{}: the policy has no [changelog] section", cx.policy.path);
    };
    let file: &Utf8Path = &policy.file;
    let text = std::fs::read_to_string(cx.repo.path(file)).with_context(|| format!("cannot read {file}"))?;
    let mut parsed = cl::parse(file, &text)?;
    let target = &request.target;
    let mut finalized = None;
    match request.work {
        ChangelogWork::Notes => {
            return Ok(ChangelogOutcome::Notes { file: file.to_owned(), notes: parsed.notes(target) });
        }
        ChangelogWork::Finalize { date } => {
            let date = date.unwrap_or_else(|| cx.clock.today());
            let text = cl::finalize(file, &text, target, date)?;
            fsutil::write_atomic(&cx.repo.path(file), text.as_bytes())?;
            finalized = Some(format!("## [{}] - {date}", target.version()));
            parsed = cl::parse(file, &text)?;
        }
        ChangelogWork::Check => {}
    }
    let finding = cl::check(file, &parsed, target);
    Ok(ChangelogOutcome::Checked { report: Report::new("changelog", Some(target.tag()), vec![finding]), finalized })
}

/// Which targets `targets` lists, and what of each.
#[derive(Debug, Clone)]
pub struct TargetsListing {
    /// Only the targets of this channel (`github_sdk`, `homebrew`, `npm`, `pypi`, `cargo_binstall`).
    pub channel: Option<String>,
    /// With `channel`: the tier.
    pub tier: Tier,
    /// The field printed for each target [default: `sdk_platform`].
    pub field: Option<String>,
    /// Only this target (by `rust_target`).
    pub rust_target: Option<String>,
}

/// `targets [--channel C --tier T --field F --rust-target R]`.
#[derive(Debug, Clone, Default)]
pub struct TargetsRequest {
    /// List targets instead of validating the manifest.
    pub listing: Option<TargetsListing>,
}

/// What `targets` gave.
#[derive(Debug, Clone)]
pub enum TargetsOutcome {
    /// The manifest is valid (an invalid one is an error naming the file and rule).
    Valid(Report),
    /// The listed field of each selected target, in manifest order.
    Values(Vec<String>),
}

/// Validates the targets manifest, or lists a field of the selected targets.
pub fn targets(cx: &Context, request: &TargetsRequest) -> anyhow::Result<TargetsOutcome> {
    let Some(policy) = &cx.policy.targets else {
        bail!("{}: the policy has no [targets] section", cx.policy.path);
    };
    let shown = policy.manifest.as_str();
    let manifest: Manifest = manifest::load(&cx.repo.path(&policy.manifest), shown)?;
    let Some(listing) = &request.listing else {
        let finding = Finding::pass(CheckId::TARGETS, shown, format!("valid: {} targets", manifest.targets.len()))
            .with(Evidence::file(shown));
        let mut findings = vec![finding];
        if let Some(lists) = &cx.policy.npm_platforms {
            findings.extend(crate::npm_platforms::check(&cx.repo, lists, &manifest));
        }
        return Ok(TargetsOutcome::Valid(Report::new("targets", None, findings)));
    };
    let mut selected: Vec<&manifest::Target> = match &listing.channel {
        Some(ch) => manifest.in_channel(manifest::Channel::from_key(ch)?, listing.tier)?,
        None => manifest.targets.iter().collect(),
    };
    if let Some(rt) = &listing.rust_target {
        if !manifest.targets.iter().any(|t| &t.rust_target == rt) {
            bail!("no target `{rt}` in the manifest");
        }
        selected.retain(|t| &t.rust_target == rt);
    }
    let field = listing.field.as_deref().unwrap_or("sdk_platform");
    let values = selected.iter().map(|t| t.field(field)).collect::<anyhow::Result<Vec<_>>>()?;
    Ok(TargetsOutcome::Values(values))
}
