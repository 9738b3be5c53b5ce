//! Release machinery for a project that ships one version in lockstep to several ecosystems
//! (crates.io, npm, PyPI, GitHub release assets, a Homebrew tap).
//!
//! Every `cargo xtask release` command is a function in [`commands`]: a [`Context`] and a
//! request value in, an outcome out (a [`Report`] of [`Finding`]s with a fail-closed
//! [`Verdict`], plus what the command produced). The command line ([`cli`], feature `cli`)
//! only parses flags into requests and renders outcomes, so a contributor who calls these
//! functions gets exactly what the command does. `testing` (feature `testing`) has the
//! fixtures: plasmite-shaped git repositories and a fake of every service on 127.0.0.1.
//!
//! Inside, one private module per part of the release:
//!
//! | module | what it holds |
//! | --- | --- |
//! | `context`, `env`, `clock` | `Context` (repo, policy, HTTP client, clock, environment), read once |
//! | `report` | `Outcome`, `Finding`, `Evidence`, `Report`, the verdict |
//! | `target` | `ReleaseTarget`: `v1.2.3[-rc.N]`, semver order, PEP 440 form |
//! | `policy` | `Policy`: `release/policy.toml`, validated and typed |
//! | `repo` | git queries; base-tag derivation |
//! | `versions`, `changelog`, `manifest` | version surfaces (format-preserving bump), changelog sections, the targets manifest |
//! | `gates` | QA gates: built-in checks, policy commands, conditional triggers, the runner |
//! | `verify`, `registry`, `github`, `fetch`, `http`, `tls` | post-release verification; the registry and GitHub clients; one HTTP client and the CAs it trusts |
//! | `endpoints` | each service's base URL, resolved as the ecosystem's own tools resolve it, and where it came from |
//! | `provenance`, `smoke`, `bench`, `notices` | build provenance, install smoke, the benchmark gate, licence notices |
//! | `blockers`, `evidence` | blocker filing (ergo, GitHub issues); the evidence record (locked, atomic) |
//! | `duration`, `fsutil`, `redact` | `90s`/`20m`, atomic writes, secrets out of every output |
//! | `progress`, `parallel` | progress events relayed to the observer; independent work (requests) at the same time, in order |
//!
//! A contributor's own test can hold a release to the same rules:
//!
//! ```no_run
//! use release_core::{Context, Verdict, commands};
//! # fn main() -> anyhow::Result<()> {
//! let cx = Context::open(camino::Utf8Path::new("."), None)?;
//! let outcome = commands::versions(&cx, &commands::VersionsRequest::default())?;
//! // On failure the message is the verdict line and one line per finding.
//! assert_eq!(outcome.report.verdict, Verdict::Ready, "{}", outcome.report);
//! # Ok(()) }
//! ```

#![deny(missing_docs)]

mod bench;
mod blockers;
mod changelog;
#[cfg(feature = "cli")]
pub mod cli;
mod clock;
pub mod commands;
mod context;
mod duration;
mod endpoints;
mod env;
mod evidence;
mod fetch;
mod fsutil;
mod gates;
mod github;
mod http;
mod manifest;
mod members;
mod notices;
mod npm_platforms;
mod parallel;
mod policy;
mod progress;
mod provenance;
mod redact;
mod registry;
mod repo;
mod report;
mod smoke;
mod tail;
mod target;
mod tls;
mod verify;
mod versions;

#[cfg(any(test, feature = "testing"))]
pub mod testing;

pub use clock::{Clock, Date, ManualClock};
pub use context::Context;
pub use env::Env;
pub use http::{HttpConfig, TokenSource};
pub use manifest::{Arch, Channel, Manifest, Os, Platform, Tier};
pub use policy::Policy;
pub use repo::Repo;
pub use report::{Evidence, Finding, Outcome, Report, Verdict};
pub use target::ReleaseTarget;
