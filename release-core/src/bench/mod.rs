//! The benchmark gate: build the base tag and the candidate, run the policy's bench program on
//! both, interleaved, and compare the medians per scenario (facts §9; docs/bench.md).
//!
//! - [`stats`]: pure: bench JSON rows, scenario keys, medians, the status rules.
//! - [`summary`]: pure: findings, `summary.json`, `summary.md`, `plot.svg`.
//! - [`runner`]: worktrees, builds, interleaved runs, output folder.
//!
//! Only a `regressed` scenario fails the gate. A core bench with no scenario measured on both
//! sides, a zero base median, a build or run that did not work: incomplete.

pub mod runner;
pub mod stats;
pub mod summary;

use anyhow::bail;

pub use runner::run;
pub use stats::Thresholds;

use crate::target::ReleaseTarget;

/// The options of one comparison (the command line of `cargo xtask release bench`).
#[derive(Debug, Clone, PartialEq)]
pub struct BenchOptions {
    /// The tag to compare against (`v0.7.2`); must exist locally.
    pub base_tag: String,
    /// Runs per side (at least 1).
    pub runs: u32,
    /// Messages per run, substituted for `{messages}` (at least 1).
    pub messages: u64,
    /// The comparison thresholds.
    pub thresholds: Thresholds,
}

impl BenchOptions {
    /// The defaults of facts §9.1 for `base_tag`.
    pub fn new(base_tag: impl Into<String>) -> BenchOptions {
        BenchOptions { base_tag: base_tag.into(), runs: 3, messages: 5000, thresholds: Thresholds::default() }
    }

    /// Positive runs and messages, a release tag, finite non-negative thresholds (bug 35).
    pub fn validate(&self) -> anyhow::Result<()> {
        let target = ReleaseTarget::parse(&self.base_tag);
        if !self.base_tag.starts_with('v') || target.is_err() {
            bail!("--base-tag `{}` is not a release tag vX.Y.Z", self.base_tag);
        }
        if self.runs == 0 {
            bail!("--runs must be at least 1");
        }
        if self.messages == 0 {
            bail!("--messages must be at least 1");
        }
        self.thresholds.validate()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_are_validated() {
        assert!(BenchOptions::new("v0.7.2").validate().is_ok());
        assert!(BenchOptions::new("0.7.2").validate().is_err());
        assert!(BenchOptions { runs: 0, ..BenchOptions::new("v0.7.2") }.validate().is_err());
        assert!(BenchOptions { messages: 0, ..BenchOptions::new("v0.7.2") }.validate().is_err());
        let t = Thresholds { threshold_percent: f64::NAN, ..Thresholds::default() };
        assert!(BenchOptions { thresholds: t, ..BenchOptions::new("v0.7.2") }.validate().is_err());
    }
}
