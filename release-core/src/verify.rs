//! Post-release verification across channels: each channel runs on its own thread (sharing
//! one [`Http`](crate::http::Http) client) and yields findings; `--wait` re-checks only the
//! channels not yet passing, with capped backoff, until they pass or the deadline passes.
//! [`PartialPublish`] says when a release is live on some channels and missing on others.

use std::time::Duration;

use anyhow::bail;
use camino::Utf8PathBuf;
use serde::Serialize;

use crate::{
    context::Context,
    manifest::{self, Channel},
    progress::{Progress, Reporter},
    registry::{self, Probe},
    report::CheckId,
    report::Finding,
    report::Outcome,
    report::Report,
    target::ReleaseTarget,
};

/// One thing `verify` checks on its own thread: a delivery channel, or CI on the tag's commit
/// (which is not a channel: nobody installs from it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Leg {
    /// A delivery channel among [`Channel::VERIFY`].
    Channel(Channel),
    /// The CI workflow on the tag's commit.
    Ci,
}

impl Leg {
    fn name(self) -> &'static str {
        match self {
            Leg::Channel(c) => c.name(),
            Leg::Ci => CI,
        }
    }

    fn check(self) -> CheckId {
        match self {
            Leg::Channel(c) => check(c),
            Leg::Ci => CheckId::VERIFY_CI,
        }
    }

    fn run(self, probe: &Probe<'_>) -> Vec<Finding> {
        match self {
            Leg::Channel(Channel::Crates) => registry::crates::check(probe),
            Leg::Channel(Channel::Npm) => registry::npm::check(probe),
            Leg::Channel(Channel::Pypi) => registry::pypi::check(probe),
            Leg::Channel(Channel::Github) => registry::github::check(probe),
            Leg::Channel(Channel::Homebrew) => registry::homebrew::check(probe),
            Leg::Channel(c @ Channel::CargoBinstall) => vec![Finding::skipped(
                check(c),
                c.name(),
                "verify has no check for this channel: its archives are the GitHub release's",
            )],
            Leg::Ci => registry::github::check_ci(probe),
        }
    }
}

/// The `--channels` name of the CI leg.
const CI: &str = "ci";

/// Parses `--channels crates,npm,ci` into the delivery channels (deduplicated, in report
/// order) and whether CI is checked. Unknown names are errors listing the valid ones.
pub fn parse_channels(text: &str) -> anyhow::Result<(Vec<Channel>, bool)> {
    let mut channels = Vec::new();
    let mut ci = false;
    let mut any = false;
    for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        any = true;
        if part == CI {
            ci = true;
            continue;
        }
        let Some(channel) = Channel::from_name(part, &Channel::VERIFY) else {
            let names: Vec<&str> = Channel::VERIFY.iter().map(|c| c.name()).chain([CI]).collect();
            bail!("unknown channel `{part}`: one of {}", names.join(", "));
        };
        channels.push(channel);
    }
    if !any {
        bail!("--channels is empty");
    }
    channels.sort();
    channels.dedup();
    Ok((channels, ci))
}

/// Check id of a channel's "target version is published" finding.
pub fn published_check(channel: Channel) -> Option<CheckId> {
    match channel {
        Channel::Crates => Some(registry::crates::PUBLISHED),
        Channel::Npm => Some(registry::npm::PUBLISHED),
        Channel::Pypi => Some(registry::pypi::PUBLISHED),
        Channel::Github => Some(registry::github::PUBLISHED),
        Channel::Homebrew => Some(registry::homebrew::PUBLISHED),
        Channel::CargoBinstall => None,
    }
}

/// Check id of a channel's other findings (`verify.npm`).
fn check(channel: Channel) -> CheckId {
    match channel {
        Channel::Crates => CheckId::VERIFY_CRATES,
        Channel::Npm => CheckId::VERIFY_NPM,
        Channel::Pypi => CheckId::VERIFY_PYPI,
        Channel::Github => CheckId::VERIFY_GITHUB,
        Channel::Homebrew => CheckId::VERIFY_HOMEBREW,
        // No verify check has this id today; it names the channel should one ever run.
        Channel::CargoBinstall => CheckId::owned("verify.cargo_binstall"),
    }
}

/// What to verify.
#[derive(Debug, Clone)]
pub struct Options {
    /// The delivery channels [default: [`Channel::VERIFY`]].
    pub channels: Vec<Channel>,
    /// Whether CI on the tag's commit is checked [default: yes].
    pub ci: bool,
    /// Download artifacts and compare checksums.
    pub deep: bool,
    /// Keep re-checking failing channels for this long.
    pub wait: Option<Duration>,
    /// Check this local formula instead of the tap's.
    pub formula: Option<Utf8PathBuf>,
}

impl Options {
    /// Whether these options check less than every channel and CI: such a run does not advance
    /// the release.
    pub fn is_subset(&self) -> bool {
        Channel::VERIFY.iter().any(|c| !self.channels.contains(c)) || !self.ci
    }
}

impl Default for Options {
    fn default() -> Options {
        Options { channels: Channel::VERIFY.to_vec(), ci: true, deep: false, wait: None, formula: None }
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
        let (live, missing) = published_channels(findings);
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

/// The delivery channels the target is live on and those it is missing from, in
/// [`Channel::VERIFY`] order: live when the channel's "published" findings all passed, missing
/// when one failed; a channel not checked or undecided is in neither list.
pub fn published_channels(findings: &[Finding]) -> (Vec<Channel>, Vec<Channel>) {
    let state = |c: Channel| {
        let published = published_check(c);
        let mine: Vec<&Finding> = findings.iter().filter(|f| Some(&f.check) == published.as_ref()).collect();
        if mine.iter().any(|f| f.outcome == Outcome::Fail) {
            Some(false)
        } else if !mine.is_empty() && mine.iter().all(|f| f.outcome == Outcome::Pass) {
            Some(true)
        } else {
            None
        }
    };
    let delivery = Channel::VERIFY.into_iter();
    let live: Vec<Channel> = delivery.clone().filter(|c| state(*c) == Some(true)).collect();
    let missing: Vec<Channel> = delivery.filter(|c| state(*c) == Some(false)).collect();
    (live, missing)
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

/// Runs the legs concurrently and returns their findings, in the order of `legs`. The round
/// reads through its own copy of the client: a document two legs need (the release, its sums
/// file, the tag) is fetched once in the round, and every request is reported to `progress`.
fn round(probe: &Probe<'_>, legs: &[Leg], progress: &Reporter) -> Vec<(Leg, Vec<Finding>)> {
    let http = probe.http.for_pass(progress.clone());
    let probe = &Probe { http: &http, ..*probe };
    std::thread::scope(|scope| {
        let handles: Vec<_> = legs.iter().map(|&c| (c, scope.spawn(move || c.run(probe)))).collect();
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

/// Verifies a release on the chosen channels, reporting each leg, each `--wait` round and
/// each HTTP request and retry to `progress`.
pub fn run(
    cx: &Context,
    target: &ReleaseTarget,
    options: &Options,
    progress: &Reporter,
) -> anyhow::Result<Verification> {
    let manifest = manifest(cx)?;
    // A repository without the tag (a fresh clone, CI) simply has nothing to compare.
    let local_tag_commit = cx.repo.tag_commit(&target.tag()).ok().flatten();
    let probe = Probe {
        local_tag_commit: local_tag_commit.as_deref(),
        http: &cx.http,
        policy: &cx.policy,
        endpoints: &cx.endpoints,
        manifest: manifest.as_ref(),
        target,
        deep: options.deep,
        formula: options.formula.as_deref(),
    };
    let clock = &cx.clock;
    let started = clock.instant();
    let deadline = options.wait.map(|w| started + w);
    let legs: Vec<Leg> =
        options.channels.iter().map(|&c| Leg::Channel(c)).chain(options.ci.then_some(Leg::Ci)).collect();
    let depth = if options.deep { " (--deep)" } else { "" };
    for leg in &legs {
        progress.send(Progress::Step { verb: "Verifying", what: format!("{} {}{depth}", leg.name(), target.tag()) });
    }
    let mut results = round(&probe, &legs, progress);
    let mut rounds = 1;
    let mut delay = Duration::from_secs(5).min(options.wait.unwrap_or_default() / 4).max(Duration::from_millis(100));
    while let (Some(deadline), Some(budget)) = (deadline, options.wait) {
        let pending: Vec<Leg> = results.iter().filter(|(_, f)| !passing(f)).map(|(c, _)| *c).collect();
        let now = clock.instant();
        if pending.is_empty() || now >= deadline {
            break;
        }
        let pause = delay.min(deadline - now);
        progress.send(Progress::Round {
            round: rounds + 1,
            missing: pending.iter().map(|l| l.name().to_string()).collect(),
            elapsed: clock.elapsed(started),
            budget,
            delay: pause,
        });
        clock.sleep(pause);
        delay = (delay * 2).min(Duration::from_secs(60));
        for (c, findings) in round(&probe, &pending, progress) {
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
        assert_eq!(parse_channels("npm,crates,npm").unwrap(), (vec![Channel::Crates, Channel::Npm], false));
        assert_eq!(parse_channels("ci").unwrap(), (vec![], true));
        let e = parse_channels("npm,brew").unwrap_err().to_string();
        assert!(e.contains("one of crates, npm, pypi, github, homebrew, ci"), "{e}");
        assert!(parse_channels("").is_err());
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
            let options = Options {
                channels: vec![Channel::Npm],
                ci: false,
                wait: Some(Duration::from_secs(60)),
                ..Options::default()
            };
            run(&cx, &ReleaseTarget::parse(version).unwrap(), &options, &Reporter::none()).unwrap()
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

    /// Nothing is fetched twice in a run: the release, its sums file and the tag, which the
    /// GitHub, Homebrew and CI legs all read, are asked for once, shallow and `--deep`.
    #[test]
    fn a_run_asks_each_url_once() {
        use crate::testing::{FakeRegistry, FixtureRepo, PublishedRelease, plasmite_manifest};
        for deep in [false, true] {
            let fake = FakeRegistry::start(PublishedRelease::coherent(&plasmite_manifest(), "0.8.0").unwrap()).unwrap();
            let repo =
                FixtureRepo::plasmite("0.8.0").append("release/policy.toml", &fake.endpoints_toml()).build().unwrap();
            let cx = Context::open(repo.root(), None)
                .unwrap()
                .with_http(crate::http::HttpConfig::fast(), crate::http::TokenSource::Fixed(None));
            let options = Options { deep, ..Options::default() };
            let result = run(&cx, &ReleaseTarget::parse("0.8.0").unwrap(), &options, &Reporter::none()).unwrap();
            assert_eq!(result.report.verdict.exit_code(), 0, "{:#?}", result.report);
            let (total, distinct) = fake.request_counts();
            let paths: Vec<String> = fake.requests().into_iter().map(|r| r.path).collect();
            assert_eq!(total, distinct, "deep={deep}: {paths:#?}");
        }
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
