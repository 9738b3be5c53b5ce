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
//! | [`mod@bench`] | benchmark gate: base tag vs candidate, interleaved runs, per-scenario statuses |
//! | [`notices`] | licence and notice files: repo level, copies, and inside every release archive |
//! | [`provenance`] | build provenance: the build run, its metadata artifact, the tag's commit |
//! | [`smoke`] | install smoke per channel: install the release, run `--version`, exact match |
//! | [`clock`] | `Clock`, dates and UTC timestamps |
//! | [`duration`] | `90s` / `20m` / `1h30m` |
//! | [`fsutil`] | atomic writes that keep permissions |
//! | [`redact`] | secrets out of output, evidence and blocker bodies |
//! | [`blockers`] | blocker bodies; filing with ergo or as GitHub issues; blockers from a report; closing |
//! | [`gates`] | QA gates: built-in checks, policy commands, conditional triggers, the runner |
//! | [`evidence`] | the evidence record: JSON + Markdown, locked atomic appends, checkpoint |
//! | [`http`] | the one HTTP client: timeouts, retries, size cap, user agent, token scoping, https only |
//! | [`registry`] | typed, minimal clients of crates.io, npm, PyPI, GitHub and the Homebrew tap |
//! | [`verify`] | post-release verification across channels, concurrently, with `--wait` and partial-publish analysis |
//! | `testing` | (feature `testing`) `FixtureRepo`: plasmite-shaped git repositories; `FakeRegistry`: every service on 127.0.0.1 |
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
pub mod http;
pub mod notices;
pub mod outcome;
pub mod policy;
pub mod provenance;
pub mod redact;
pub mod registry;
pub mod repo;
pub mod smoke;
pub mod target;
pub mod targets;
pub mod verify;
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
    /// The HTTP client every registry check shares (token scoped to the GitHub API base).
    pub http: std::sync::Arc<http::Http>,
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
        Ok(Context::new(repo, policy, http::HttpConfig::default(), http::TokenSource::Discover))
    }

    /// A context from parts, with an HTTP client built from `config` and `token`; the GitHub
    /// API base comes from the policy's `[endpoints]` (or the public default).
    pub fn new(repo: Repo, policy: Policy, config: http::HttpConfig, token: http::TokenSource) -> Context {
        let api = policy.endpoints.github_api.clone().unwrap_or_else(|| registry::GITHUB_API.to_string());
        let http = std::sync::Arc::new(http::Http::new(config, &api, token));
        Context { repo, policy, clock: Clock::System, http }
    }

    /// The same context with another HTTP configuration and token source.
    pub fn with_http(self, config: http::HttpConfig, token: http::TokenSource) -> Context {
        Context::new(self.repo, self.policy, config, token)
    }
}
