//! Release machinery for a project that ships one version in lockstep to several ecosystems
//! (crates.io, npm, PyPI, GitHub release assets, a Homebrew tap).
//!
//! Each module holds one part of the release; each check returns [`Finding`]s, and a
//! [`Report`] over them has a fail-closed [`Verdict`]. The `xtask` binary only parses
//! arguments, calls these functions and renders the result.
//!
//! | module | what it holds |
//! | --- | --- |
//! | [`report`] | `Outcome`, `Finding`, `Report`, the verdict |
//! | [`target`] | `ReleaseTarget`: `v1.2.3[-rc.N]`, semver order, PEP 440 form |
//! | [`policy`] | `Policy`: `release/policy.toml`, validated |
//! | [`repo`] | `Repo`: root path and git queries; base-tag derivation |
//! | [`versions`] | version surfaces: read, check, bump (format-preserving, all or nothing) |
//! | [`changelog`] | Keep-a-Changelog sections: check, finalize, release notes |
//! | [`manifest`] | `release/targets.json`: parse, validate, channel lists |
//! | [`mod@bench`] | benchmark gate: base tag vs candidate, interleaved runs, per-scenario statuses |
//! | [`notices`] | licence and notice files: repo level, copies, and inside every release archive |
//! | [`provenance`] | build provenance: the build run, its metadata artifact, the tag's commit |
//! | [`smoke`] | install smoke per channel: install the release, run `--version`, exact match |
//! | [`clock`] | `Clock` (system, fixed or manual: now, elapsed time, sleep), dates and UTC timestamps |
//! | [`mod@env`] | `Env`: the environment variables the library reads, captured once |
//! | [`duration`] | `90s` / `20m` / `1h30m` |
//! | [`fsutil`] | atomic writes that keep permissions |
//! | [`redact`] | secrets out of output, evidence and blocker bodies |
//! | [`blockers`] | blocker bodies; filing with ergo or as GitHub issues; blockers from a report; closing |
//! | [`gates`] | QA gates: built-in checks, policy commands, conditional triggers, the runner |
//! | [`evidence`] | the evidence record: JSON + Markdown, locked atomic appends, checkpoint |
//! | [`fetch`] | reading a service with a typed `FetchError`; the one mapping of a failed fetch to a finding |
//! | [`github`] | the one GitHub REST client: releases, refs, contents, runs, jobs, artifacts, issues, the paginator |
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
#[cfg(feature = "cli")]
pub mod cli;
pub mod clock;
pub mod commands;
pub mod context;
pub mod duration;
pub mod env;
pub mod evidence;
pub mod fetch;
pub mod fsutil;
pub mod gates;
pub mod github;
pub mod http;
pub mod manifest;
pub mod notices;
pub mod policy;
pub mod provenance;
pub mod redact;
pub mod registry;
pub mod repo;
pub mod report;
pub mod smoke;
pub mod target;
pub mod verify;
pub mod versions;

#[cfg(any(test, feature = "testing"))]
pub mod testing;

pub use clock::Clock;
pub use context::Context;
pub use env::Env;
pub use policy::Policy;
pub use repo::Repo;
pub use report::{Evidence, Finding, Outcome, Report, Verdict};
pub use target::ReleaseTarget;
