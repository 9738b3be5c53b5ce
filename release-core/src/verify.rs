//! Post-release verification across channels: each channel runs on its own thread (sharing
//! one [`Http`](crate::http::Http) client) and yields findings; `--wait` re-checks only the
//! channels not yet passing, with capped backoff, until they pass or the deadline passes.
//! [`PartialPublish`] says when a release is live on some channels and missing on others.

use std::{fmt, time::Duration};

use anyhow::bail;
use camino::Utf8PathBuf;
use serde::Serialize;

use crate::{
    context::Context,
    manifest,
    registry::{self, Probe},
    report::CheckId,
    report::Finding,
    report::Outcome,
    report::Report,
    target::ReleaseTarget,
};

/// A channel `verify` checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Channel {
    /// crates.io.
    Crates,
    /// npm.
    Npm,
    /// PyPI.
    Pypi,
    /// GitHub release and assets.
    Github,
    /// The Homebrew tap formula.
    Homebrew,
    /// The CI workflow on the tag's commit.
    Ci,
}

impl Channel {
    /// Every channel, in report order.
    pub const ALL: [Channel; 6] =
        [Channel::Crates, Channel::Npm, Channel::Pypi, Channel::Github, Channel::Homebrew, Channel::Ci];

    /// The channel's name on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Channel::Crates => "crates",
            Channel::Npm => "npm",
            Channel::Pypi => "pypi",
            Channel::Github => "github",
            Channel::Homebrew => "homebrew",
            Channel::Ci => "ci",
        }
    }

    /// Parses a channel name.
    pub fn parse(text: &str) -> anyhow::Result<Channel> {
        Channel::ALL
            .into_iter()
            .find(|c| c.name() == text.trim())
            .ok_or_else(|| anyhow::anyhow!("unknown channel `{text}`: one of crates, npm, pypi, github, homebrew, ci"))
    }

    /// Parses `crates,npm,...` (deduplicated, in report order).
    pub fn parse_list(text: &str) -> anyhow::Result<Vec<Channel>> {
        let mut out = Vec::new();
        for part in text.split(',').filter(|p| !p.trim().is_empty()) {
            out.push(Channel::parse(part)?);
        }
        if out.is_empty() {
            bail!("--channels is empty");
        }
        out.sort();
        out.dedup();
        Ok(out)
    }

    /// True for channels users install from (CI is not one).
    pub fn is_delivery(self) -> bool {
        self != Channel::Ci
    }

    /// Check id of the channel's "target version is published" finding.
    pub fn published_check(self) -> CheckId {
        match self {
            Channel::Crates => registry::crates::PUBLISHED,
            Channel::Npm => registry::npm::PUBLISHED,
            Channel::Pypi => registry::pypi::PUBLISHED,
            Channel::Github => registry::github::PUBLISHED,
            Channel::Homebrew => registry::homebrew::PUBLISHED,
            Channel::Ci => CheckId::VERIFY_CI,
        }
    }

    /// Check id of the channel's other findings (`verify.npm`).
    pub fn check(self) -> CheckId {
        match self {
            Channel::Crates => CheckId::VERIFY_CRATES,
            Channel::Npm => CheckId::VERIFY_NPM,
            Channel::Pypi => CheckId::VERIFY_PYPI,
            Channel::Github => CheckId::VERIFY_GITHUB,
            Channel::Homebrew => CheckId::VERIFY_HOMEBREW,
            Channel::Ci => CheckId::VERIFY_CI,
        }
    }

    fn run(self, probe: &Probe<'_>) -> Vec<Finding> {
        match self {
            Channel::Crates => registry::crates::check(probe),
            Channel::Npm => registry::npm::check(probe),
            Channel::Pypi => registry::pypi::check(probe),
            Channel::Github => registry::github::check(probe),
            Channel::Homebrew => registry::homebrew::check(probe),
            Channel::Ci => registry::github::check_ci(probe),
        }
    }
}

impl fmt::Display for Channel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// What to verify.
#[derive(Debug, Clone)]
pub struct Options {
    /// The channels [default: all].
    pub channels: Vec<Channel>,
    /// Download artifacts and compare checksums.
    pub deep: bool,
    /// Keep re-checking failing channels for this long.
    pub wait: Option<Duration>,
    /// Check this local formula instead of the tap's.
    pub formula: Option<Utf8PathBuf>,
}

impl Default for Options {
    fn default() -> Options {
        Options { channels: Channel::ALL.to_vec(), deep: false, wait: None, formula: None }
    }
}

/// The result of a verify run: the report plus the partial-publish analysis.
#[derive(Debug, Clone, Serialize)]
pub struct Verification {
    /// Every finding, channel by channel.
    pub report: Report,
    /// Set when the target is live on some channels and missing on others.
    pub partial_publish: Option<PartialPublish>,
    /// Rounds run (more than 1 with `--wait`).
    pub rounds: u32,
}

/// A release live on some delivery channels and missing on others.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PartialPublish {
    /// Channels where the exact target version is published.
    pub live: Vec<Channel>,
    /// Channels where it is not.
    pub missing: Vec<Channel>,
    /// What to do about it.
    pub recovery: String,
}

impl PartialPublish {
    /// Computes the analysis from findings: a channel is live when its "published" finding
    /// passed and missing when it failed; undecided channels are neither.
    pub fn from_findings(target: &ReleaseTarget, findings: &[Finding]) -> Option<PartialPublish> {
        let state = |c: Channel| {
            let mine: Vec<&Finding> = findings.iter().filter(|f| f.check == c.published_check()).collect();
            if mine.iter().any(|f| f.outcome == Outcome::Fail) {
                Some(false)
            } else if !mine.is_empty() && mine.iter().all(|f| f.outcome == Outcome::Pass) {
                Some(true)
            } else {
                None
            }
        };
        let delivery = Channel::ALL.into_iter().filter(|c| c.is_delivery());
        let live: Vec<Channel> = delivery.clone().filter(|c| state(*c) == Some(true)).collect();
        let missing: Vec<Channel> = delivery.filter(|c| state(*c) == Some(false)).collect();
        if live.is_empty() || missing.is_empty() {
            return None;
        }
        let names: Vec<&str> = missing.iter().map(|c| c.name()).collect();
        let recovery = format!(
            "re-run the publish for {} only, from the same build run that published {} (e.g. the release-publish workflow with release_tag={}); never re-tag or rebuild: the live channels already carry these exact artifacts",
            names.join(", "),
            live.iter().map(|c| c.name()).collect::<Vec<_>>().join(", "),
            target.tag()
        );
        Some(PartialPublish { live, missing, recovery })
    }
}

/// Loads the targets manifest named by the policy, if any.
fn manifest(cx: &Context) -> anyhow::Result<Option<manifest::Manifest>> {
    match &cx.policy.targets {
        Some(t) => Ok(Some(manifest::load(&cx.repo.path(&t.manifest), t.manifest.as_str())?)),
        None => Ok(None),
    }
}

fn passing(findings: &[Finding]) -> bool {
    !findings.iter().any(|f| f.outcome.blocks())
}

/// Runs the channels concurrently and returns their findings, in channel order.
fn round(probe: &Probe<'_>, channels: &[Channel]) -> Vec<(Channel, Vec<Finding>)> {
    std::thread::scope(|scope| {
        let handles: Vec<_> = channels.iter().map(|&c| (c, scope.spawn(move || c.run(probe)))).collect();
        handles
            .into_iter()
            .map(|(c, h)| {
                let findings = h.join().unwrap_or_else(|_| {
                    vec![Finding::incomplete(
                        c.check(),
                        c.name(),
                        "the check stopped unexpectedly (a bug: please report it)",
                    )]
                });
                (c, findings)
            })
            .collect()
    })
}

/// Verifies a release on the chosen channels.
pub fn run(cx: &Context, target: &ReleaseTarget, options: &Options) -> anyhow::Result<Verification> {
    let manifest = manifest(cx)?;
    // A repository without the tag (a fresh clone, CI) simply has nothing to compare.
    let local_tag_commit = cx.repo.tag_commit(&target.tag()).ok().flatten();
    let probe = Probe {
        local_tag_commit: local_tag_commit.as_deref(),
        http: &cx.http,
        policy: &cx.policy,
        manifest: manifest.as_ref(),
        target,
        deep: options.deep,
        formula: options.formula.as_deref(),
    };
    let clock = &cx.clock;
    let started = clock.instant();
    let deadline = options.wait.map(|w| started + w);
    let mut results = round(&probe, &options.channels);
    let mut rounds = 1;
    let mut delay = Duration::from_secs(5).min(options.wait.unwrap_or_default() / 4).max(Duration::from_millis(100));
    while let Some(deadline) = deadline {
        let pending: Vec<Channel> = results.iter().filter(|(_, f)| !passing(f)).map(|(c, _)| *c).collect();
        let now = clock.instant();
        if pending.is_empty() || now >= deadline {
            break;
        }
        clock.sleep(delay.min(deadline - now));
        delay = (delay * 2).min(Duration::from_secs(60));
        for (c, findings) in round(&probe, &pending) {
            if let Some(slot) = results.iter_mut().find(|(rc, _)| *rc == c) {
                slot.1 = findings;
            }
        }
        rounds += 1;
    }
    let findings: Vec<Finding> = results.into_iter().flat_map(|(_, f)| f).collect();
    let partial_publish = PartialPublish::from_findings(target, &findings);
    Ok(Verification { report: Report::new("verify", Some(target.tag()), findings), partial_publish, rounds })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn channel_lists() {
        assert_eq!(Channel::parse_list("npm,crates,npm").unwrap(), [Channel::Crates, Channel::Npm]);
        assert!(Channel::parse_list("npm,brew").is_err());
        assert!(Channel::parse_list("").is_err());
    }

    /// `--wait` on a manual clock: the rounds and the backoff schedule happen in simulated
    /// time, so a minute of waiting costs no real sleep.
    #[test]
    fn wait_rounds_run_on_the_contexts_clock() {
        use crate::{
            clock::Clock,
            testing::{FakeRegistry, FixtureRepo, PublishedRelease, targets_json},
        };
        let manifest = manifest::parse("t", &targets_json()).unwrap();
        let fake = FakeRegistry::start(PublishedRelease::coherent(&manifest, "0.8.0").unwrap()).unwrap();
        let repo =
            FixtureRepo::plasmite("0.8.0").append("release/policy.toml", &fake.endpoints_toml()).build().unwrap();
        let clock = Clock::manual(std::time::UNIX_EPOCH);
        let Clock::Manual(manual) = clock.clone() else { unreachable!() };
        let cx = Context::open(repo.root(), None)
            .unwrap()
            .with_http(crate::http::HttpConfig::fast(), crate::http::TokenSource::Fixed(None))
            .with_clock(clock);
        let real = std::time::Instant::now();
        let wait = |version: &str| {
            let options =
                Options { channels: vec![Channel::Npm], wait: Some(Duration::from_secs(60)), ..Options::default() };
            run(&cx, &ReleaseTarget::parse(version).unwrap(), &options).unwrap()
        };

        // Never published: re-checked after 5 s, 10 s, 20 s, then the 25 s left of the minute.
        let missing = wait("0.9.0");
        assert_eq!(missing.rounds, 5);
        assert_eq!(missing.report.verdict.exit_code(), 1, "{:#?}", missing.report);
        let secs: Vec<u64> = manual.sleeps().iter().map(Duration::as_secs).collect();
        assert_eq!(secs, [5, 10, 20, 25]);
        assert_eq!(manual.elapsed(), Duration::from_secs(60));

        // Published: one round, no waiting.
        let live = wait("0.8.0");
        assert_eq!(live.rounds, 1);
        assert_eq!(live.report.verdict.exit_code(), 0, "{:#?}", live.report);
        assert_eq!(manual.elapsed(), Duration::from_secs(60), "no time passed");
        assert!(real.elapsed() < Duration::from_secs(20), "no real sleeping: {:?}", real.elapsed());
    }

    #[test]
    fn partial_publish_needs_live_and_missing() {
        let t = ReleaseTarget::parse("0.8.0").unwrap();
        let live = Finding::pass(registry::npm::PUBLISHED, "npm", "ok");
        let missing = Finding::fail(registry::pypi::PUBLISHED, "pypi", "no");
        let unknown = Finding::incomplete(registry::crates::PUBLISHED, "crates", "down");
        let p = PartialPublish::from_findings(&t, &[live.clone(), missing.clone(), unknown.clone()]).unwrap();
        assert_eq!(p.live, [Channel::Npm]);
        assert_eq!(p.missing, [Channel::Pypi]);
        assert!(p.recovery.contains("pypi") && p.recovery.contains("never re-tag"));
        assert!(PartialPublish::from_findings(&t, &[live, unknown.clone()]).is_none());
        assert!(PartialPublish::from_findings(&t, &[missing, unknown]).is_none());
    }
}
