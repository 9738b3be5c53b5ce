//! `homebrew update`: edit the tap's existing formula for a release, in place.

use anyhow::{Context as _, bail};
use camino::Utf8PathBuf;

use super::verify::{homebrew_manifest, read_sums};
use crate::{
    context::Context,
    fsutil,
    registry::{Probe, homebrew, homebrew_update},
    report::{Evidence, Outcome},
    target::ReleaseTarget,
};

pub use crate::registry::homebrew_update::LineChange;

/// What `homebrew update` does with the updated formula.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum UpdateWrite {
    /// Write it back over the formula, atomically.
    #[default]
    InPlace,
    /// Write nothing; the outcome carries the text (`--stdout`).
    Stdout,
    /// Write nothing; the outcome says whether the formula would change (`--check`).
    Check,
}

/// `homebrew update vX.Y.Z --sha256sums FILE --formula FILE [--stdout | --check]`.
#[derive(Debug, Clone)]
pub struct HomebrewUpdateRequest {
    /// The release.
    pub target: ReleaseTarget,
    /// The release's sums file (`shasum -a 256` output; directories before names are fine).
    pub sha256sums: Utf8PathBuf,
    /// The tap's formula file (`../homebrew-tap/Formula/plasmite.rb`).
    pub formula: Utf8PathBuf,
    /// What to do with the result.
    pub write: UpdateWrite,
}

/// What `homebrew update` did.
#[derive(Debug, Clone)]
pub struct HomebrewUpdateOutcome {
    /// The formula's version before.
    pub from: String,
    /// The formula after the update (the input when nothing changes).
    pub text: String,
    /// The lines that change; empty when the formula is already at the release with its
    /// digests.
    pub changes: Vec<LineChange>,
    /// Whether the file was written (only with [`UpdateWrite::InPlace`] and changes).
    pub written: bool,
}

/// Updates a tap formula for a release from its sums file: only the `version` line, each `url`
/// and the `sha256` after it change. The result must then pass the same alignment `homebrew
/// check` runs (every homebrew-official platform of the manifest, exact urls); otherwise, or
/// when the formula cannot be edited safely or would move to an older version, it is an error
/// naming the file and line and nothing is written.
pub fn homebrew_update(cx: &Context, request: &HomebrewUpdateRequest) -> anyhow::Result<HomebrewUpdateOutcome> {
    let manifest = homebrew_manifest(cx)?;
    let sums = read_sums(&request.sha256sums)?;
    let path = &request.formula;
    let text = fsutil::read_regular(path)?.with_context(|| {
        format!("{path}: no such formula (the update edits, it does not create: see `homebrew render`)")
    })?;
    let updated = homebrew_update::update(path.as_str(), &text, &request.target, &sums)?;
    let probe = Probe { manifest: Some(&manifest), ..Probe::of(cx, &request.target) };
    let findings = homebrew::check_alignment(&probe, &updated.text, &sums, &Evidence::file(path.as_str()));
    let wrong: Vec<String> = findings
        .iter()
        .filter(|f| f.outcome != Outcome::Pass)
        .map(|f| format!("{}: {}", f.subject, f.detail))
        .collect();
    if !wrong.is_empty() {
        bail!(
            "{path}: after the update the formula would still not match {} (nothing written):\n  {}",
            request.target.tag(),
            wrong.join("\n  ")
        );
    }
    let written = request.write == UpdateWrite::InPlace && !updated.changes.is_empty();
    if written {
        fsutil::write_atomic(path, updated.text.as_bytes())?;
    }
    Ok(HomebrewUpdateOutcome { from: updated.from, text: updated.text, changes: updated.changes, written })
}
