//! Release machinery for a project that ships one version in lockstep to several ecosystems
//! (crates.io, npm, PyPI, GitHub release assets, a Homebrew tap).
//!
//! Each module holds one part of the release; each check returns [`Finding`]s, and a
//! [`Report`] over them has a fail-closed [`Verdict`]. The `xtask` binary only parses
//! arguments, calls these functions and renders the result.
//!
//! | module | what it holds |
//! | --- | --- |
//! | [`outcome`] | `Outcome`, `Finding`, `Report`, the verdict |
//! | [`target`] | `ReleaseTarget`: `v1.2.3[-rc.N]`, semver order, PEP 440 form |
//! | [`policy`] | `Policy`: `release/policy.toml`, validated |
//! | [`repo`] | `Repo`: root path and git queries; base-tag derivation |
//! | [`versions`] | version surfaces: read, check, bump (format-preserving, all or nothing) |
//! | [`changelog`] | Keep-a-Changelog sections: check, finalize, release notes |
//! | [`targets`] | `release/targets.json`: parse, validate, channel lists |
//! | [`bench`] | benchmark gate: base tag vs candidate, interleaved runs, per-scenario statuses |
//! | [`notices`] | licence and notice files: repo level, copies, and inside every release archive |
//! | [`smoke`] | install smoke per channel: install the release, run `--version`, exact match |
//! | [`clock`] | `Clock`, dates and UTC timestamps |
//! | [`duration`] | `90s` / `20m` / `1h30m` |
//! | [`fsutil`] | atomic writes that keep permissions |
//! | [`redact`] | secrets out of output, evidence and blocker bodies |
//! | [`blockers`] | blocker bodies and filing with ergo |
//! | [`gates`] | QA gates: built-in checks, policy commands, conditional triggers, the runner |
//! | [`evidence`] | the evidence record: JSON + Markdown, locked atomic appends, checkpoint |
//! | `testing` | (feature `testing`) `FixtureRepo`: plasmite-shaped git repositories |
//!
//! A contributor's own test can hold a release to the same rules:
//!
//! ```no_run
//! use release_core::{Context, versions};
//! # fn main() -> anyhow::Result<()> {
//! let cx = Context::open(camino::Utf8Path::new("."), None)?;
//! let report = versions::check(&cx.repo, &cx.policy)?;
//! assert!(report.verdict.exit_code() == 0, "{report:#?}");
//! # Ok(()) }
//! ```

#![warn(missing_docs)]

pub mod bench;
pub mod blockers;
pub mod changelog;
pub mod clock;
pub mod duration;
pub mod evidence;
pub mod fsutil;
pub mod gates;
pub mod notices;
pub mod outcome;
pub mod policy;
pub mod redact;
pub mod repo;
pub mod smoke;
pub mod target;
pub mod targets;
pub mod versions;

#[cfg(any(test, feature = "testing"))]
pub mod testing;

use camino::Utf8Path;

pub use clock::Clock;
pub use outcome::{Evidence, Finding, Outcome, Report, Verdict};
pub use policy::Policy;
pub use repo::Repo;
pub use target::ReleaseTarget;

/// Everything a check may depend on, passed explicitly: no global state, so tests run in
/// parallel in one process against their own repositories and servers.
#[derive(Debug, Clone)]
pub struct Context {
    /// The repository being released.
    pub repo: Repo,
    /// Its policy.
    pub policy: Policy,
    /// Where "now" comes from.
    pub clock: Clock,
}

impl Context {
    /// Opens the repository containing `dir` and loads its policy (`policy` if given, else
    /// `release/policy.toml` under the root).
    pub fn open(dir: &Utf8Path, policy: Option<&Utf8Path>) -> anyhow::Result<Context> {
        let repo = Repo::discover(dir)?;
        let path = match policy {
            Some(p) => p.to_owned(),
            None => repo.path(policy::DEFAULT_PATH),
        };
        let shown = path.strip_prefix(repo.root()).map(Utf8Path::to_owned).unwrap_or_else(|_| path.clone());
        let policy = Policy::load(&path, &shown)?;
        Ok(Context { repo, policy, clock: Clock::System })
    }
}
