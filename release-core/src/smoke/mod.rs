//! Install smoke after a release (facts §11.2, bugs 2, 29-32; docs/smoke.md): for each channel,
//! install the released package in a scratch dir with the ecosystem's own tool and run the
//! installed binary's `--version`, which must print the exact version as a whole word.
//!
//! - Installs run in a temp dir **outside the repository** (cwd and install root), so the
//!   repository's `rust-toolchain.toml`, `.cargo/config.toml`, `.npmrc` or `uv.toml` do not
//!   decide how the published package builds; a rustup toolchain the repository pinned for
//!   this very command (`RUSTUP_TOOLCHAIN` from its toolchain file) is not passed on either.
//! - A channel the targets manifest ships no artifact of for this machine's platform is
//!   `Skipped` with that reason (an install would build from source: not what users get).
//! - Channels run concurrently, each with its OWN budget (`max_wait`) and capped exponential
//!   backoff between attempts ([`Backoff`]), so a slow channel never eats another's time.
//!   Only a failure a retry can fix is retried (`failure`): the network for the whole budget,
//!   a version the registry does not serve yet within the propagation window, anything else
//!   (a build error, a package that does not exist) fails at once.
//! - Every leg is its own finding (npm and pnpm are two); the last attempt's commands and
//!   output tails are its evidence (redacted), with the full log of each: kept under
//!   `.scratch/release/logs/`, beside the evidence record, after the temp dir is gone.
//! - A tool that is missing is `Incomplete` naming it; Homebrew off macOS is `Skipped`.
//! - Unknown channel names are rejected by [`parse_channels`] before anything runs.
//!
//! - [`exec`]: running one command with a deadline and a log file.
//! - `channels`: what one attempt of each channel does.
//! - `failure`: which failures are worth another attempt.

mod channels;
mod dirs;
pub mod exec;
mod failure;
mod platform;

pub use platform::{host_platform, not_shipped_for};

use std::{
    ffi::OsString,
    time::{Duration, Instant},
};

use anyhow::{Context as _, bail};
use camino::{Utf8Path, Utf8PathBuf};

use crate::{
    clock::Clock,
    env::Env,
    manifest::{self, Channel, Platform},
    policy::Policy,
    repo::Repo,
    report::CheckId,
    report::Evidence,
    report::Finding,
    report::Outcome,
    report::Report,
    target::ReleaseTarget,
};

/// Id prefix of the findings (`smoke.npm`, `smoke.pypi`, ...).
pub const CHECK: CheckId = CheckId::SMOKE;

/// The finding id of a channel's smoke (`smoke.npm`); [`CHECK`] for a channel smoke has no
/// install for.
pub fn check(channel: Channel) -> CheckId {
    match channel {
        Channel::Npm => CheckId::SMOKE_NPM,
        Channel::Pypi => CheckId::SMOKE_PYPI,
        Channel::Crates => CheckId::SMOKE_CRATES,
        Channel::Homebrew => CheckId::SMOKE_HOMEBREW,
        Channel::Github | Channel::CargoBinstall => CHECK,
    }
}

/// Parses `npm,pypi,crates,homebrew` (trimmed, duplicates dropped). Any unknown or empty name
/// is an error naming it and the valid ones, so nothing runs (bug 2).
pub fn parse_channels(csv: &str) -> anyhow::Result<Vec<Channel>> {
    let mut out = Vec::new();
    for word in csv.split(',').map(str::trim) {
        let Some(channel) = Channel::from_name(word, &Channel::SMOKE) else {
            let valid: Vec<&str> = Channel::SMOKE.iter().map(|c| c.name()).collect();
            bail!("unknown channel `{word}` in --channels `{csv}`: valid channels are {}", valid.join(", "));
        };
        if !out.contains(&channel) {
            out.push(channel);
        }
    }
    Ok(out)
}

/// The channels of the policy, when `--channels` is not given: its `[smoke] channels`, else
/// every channel among [`Channel::SMOKE`] that has a `[channel.*]` table. An unknown or empty
/// name in `[smoke] channels` is an error naming the policy file, so nothing runs.
pub fn policy_channels(policy: &Policy) -> anyhow::Result<Vec<Channel>> {
    if let Some(names) = &policy.smoke.channels {
        let mut out = Vec::new();
        for name in names {
            let Some(channel) = Channel::from_name(name.trim(), &Channel::SMOKE) else {
                let valid: Vec<&str> = Channel::SMOKE.iter().map(|c| c.name()).collect();
                bail!(
                    "{}: unknown channel `{name}` in [smoke] channels: valid channels are {}",
                    policy.path,
                    valid.join(", ")
                );
            };
            if !out.contains(&channel) {
                out.push(channel);
            }
        }
        return Ok(out);
    }
    let c = &policy.channels;
    Ok(Channel::SMOKE
        .into_iter()
        .filter(|ch| match ch {
            Channel::Npm => c.npm.is_some(),
            Channel::Pypi => c.pypi.is_some(),
            Channel::Crates => c.crates.is_some(),
            Channel::Homebrew => c.homebrew.is_some(),
            Channel::Github | Channel::CargoBinstall => false,
        })
        .collect())
}

/// True when `output` has `version` (or, for Python, its PEP 440 form) as a whole word:
/// `plasmite 0.8.0` and `plasmite v0.8.0` match 0.8.0; `10.8.0`, `0.8.01`, `0.8.0-rc.1`,
/// `0x8y0` do not (bug 31). Brackets, quotes, commas and a final period around the word are
/// ignored.
pub fn has_version_token(output: &str, target: &ReleaseTarget) -> bool {
    let wanted = [target.version(), target.pep440().to_string()];
    output.split_whitespace().any(|word| {
        let word = word.trim_matches(|c: char| "()[]{}\"'`,;:".contains(c));
        let word = word.strip_suffix('.').unwrap_or(word);
        let word = word.strip_prefix('v').unwrap_or(word);
        wanted.iter().any(|w| w == word)
    })
}

/// Capped exponential backoff: `base`, `2·base`, `4·base`, ... never more than `cap`
/// (10s, 20s, 40s, 60s, 60s ... by default; a real cap, bug 30).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    /// The first delay.
    pub base: Duration,
    /// No delay is longer than this.
    pub cap: Duration,
}

impl Default for Backoff {
    fn default() -> Backoff {
        Backoff { base: Duration::from_secs(10), cap: Duration::from_secs(60) }
    }
}

impl Backoff {
    /// The delay after failed attempt `n` (0-based).
    pub fn delay(&self, n: u32) -> Duration {
        let factor = 1u32.checked_shl(n.min(31)).unwrap_or(u32::MAX);
        self.base.saturating_mul(factor).min(self.cap)
    }

    /// The sleeps between attempts within `budget`, assuming attempts take no time: each is
    /// [`Backoff::delay`] cut to what is left, and they stop when the budget is used up.
    pub fn schedule(&self, budget: Duration) -> Vec<Duration> {
        let mut left = budget;
        let mut out = Vec::new();
        let mut n = 0;
        while !left.is_zero() && !self.base.is_zero() {
            let sleep = self.delay(n).min(left);
            out.push(sleep);
            left -= sleep;
            n += 1;
        }
        out
    }
}

/// Everything a smoke run needs besides the repository and policy.
#[derive(Debug, Clone)]
pub struct SmokeOptions {
    /// The channels to run, in report order.
    pub channels: Vec<Channel>,
    /// Each channel's own time budget [default 20m].
    pub max_wait: Duration,
    /// Delays between attempts.
    pub backoff: Backoff,
    /// An attempt begun before the budget ran out may take this long past it, so a slow
    /// install is not killed just short of finishing [default 2m].
    pub attempt_floor: Duration,
    /// A version the registry does not serve yet is retried this long at most (index and CDN
    /// lag after a publish), and never past `max_wait` [default 10m].
    pub propagation: Duration,
    /// Keep the scratch dir (its path is in the result).
    pub keep_scratch: bool,
    /// The operating system (`std::env::consts::OS`); Homebrew runs only on `macos`.
    pub os: String,
    /// This machine's platform, whose artifacts the targets manifest is asked about (`None`:
    /// one the manifest cannot name; every channel is then tried).
    pub platform: Option<Platform>,
    /// PATH used to find tools and run them (when `None`: tools are found on the `PATH` of the
    /// environment given to [`run`], and run with the inherited one).
    pub path: Option<OsString>,
    /// Where each attempt of each channel is reported (`Installing npm v1.2.1 (attempt 2)`).
    pub progress: crate::progress::Reporter,
}

impl SmokeOptions {
    /// Defaults for `channels`: 20m budget, 10s..60s backoff, this machine's OS, the
    /// environment's PATH.
    pub fn new(channels: Vec<Channel>) -> SmokeOptions {
        SmokeOptions {
            channels,
            max_wait: Duration::from_secs(20 * 60),
            backoff: Backoff::default(),
            attempt_floor: Duration::from_secs(120),
            propagation: Duration::from_secs(10 * 60),
            keep_scratch: false,
            os: std::env::consts::OS.to_string(),
            platform: host_platform(),
            path: None,
            progress: crate::progress::Reporter::none(),
        }
    }

    /// A positive budget and backoff, a cap not below the base, at least one channel.
    pub fn validate(&self) -> anyhow::Result<()> {
        if self.channels.is_empty() {
            bail!("no channel to smoke: name at least one in --channels, or add [channel.*] tables to the policy");
        }
        if self.max_wait.is_zero() {
            bail!("--max-wait must be more than 0s");
        }
        if self.backoff.base.is_zero() || self.backoff.cap < self.backoff.base {
            bail!("the retry delay must be more than 0s and the cap at least the delay");
        }
        Ok(())
    }
}

/// The report, and the scratch dir when it was kept.
#[derive(Debug)]
pub struct SmokeRun {
    /// One finding per channel leg.
    pub report: Report,
    /// The scratch dir, when `keep_scratch` kept it.
    pub kept: Option<Utf8PathBuf>,
}

/// How long an undecided attempt may be retried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Window {
    /// The whole budget (the network, a server error).
    Budget,
    /// The propagation window (a version the registry does not serve yet).
    Propagation,
}

/// What a channel's attempt says.
#[derive(Debug)]
pub(crate) struct Attempt {
    /// `None`: not yet; try again while `window` lasts.
    pub outcome: Option<Outcome>,
    pub detail: String,
    pub evidence: Vec<Evidence>,
    pub window: Window,
}

impl Attempt {
    pub(crate) fn done(outcome: Outcome, detail: impl Into<String>, evidence: Vec<Evidence>) -> Attempt {
        Attempt { outcome: Some(outcome), detail: detail.into(), evidence, window: Window::Budget }
    }

    /// Try again while the budget lasts.
    pub(crate) fn retry(detail: impl Into<String>, evidence: Vec<Evidence>) -> Attempt {
        Attempt { outcome: None, detail: detail.into(), evidence, window: Window::Budget }
    }

    /// Try again while the propagation window lasts.
    pub(crate) fn not_yet(detail: impl Into<String>, evidence: Vec<Evidence>) -> Attempt {
        Attempt { outcome: None, detail: detail.into(), evidence, window: Window::Propagation }
    }
}

/// The budget of one channel: `start`, `deadline` and `propagation` are instants of `clock`.
#[derive(Debug, Clone)]
pub(crate) struct Budget {
    pub clock: Clock,
    pub start: Instant,
    pub deadline: Instant,
    /// Until when a version the registry does not serve yet is retried (not past `deadline`).
    pub propagation: Instant,
    pub backoff: Backoff,
    pub floor: Duration,
}

impl Budget {
    /// The deadline of a command started now, on the real monotonic clock: the command is a
    /// real process, polled in real time. It gets what is left of the budget (by the budget's
    /// clock), and at least `floor`.
    pub fn command_deadline(&self) -> Instant {
        let left = self.deadline.saturating_duration_since(self.clock.instant());
        Instant::now() + left.max(self.floor)
    }
}

/// Runs `attempt` until it decides, or until its window (the budget, or the propagation
/// window) is spent; then a last undecided attempt is a failure that says how many attempts
/// over how long.
pub(crate) fn retry(budget: &Budget, mut attempt: impl FnMut(u32) -> Attempt) -> (Outcome, String, Vec<Evidence>) {
    let mut n = 0;
    loop {
        let a = attempt(n + 1);
        if let Some(outcome) = a.outcome {
            return (outcome, a.detail, a.evidence);
        }
        let until = match a.window {
            Window::Budget => budget.deadline,
            Window::Propagation => budget.propagation.min(budget.deadline),
        };
        let now = budget.clock.instant();
        if now >= until {
            let waited = crate::duration::format(now.duration_since(budget.start));
            let window = if until < budget.deadline { " (the propagation window)" } else { "" };
            let detail = format!("still not installable after {} attempts over {waited}{window}: {}", n + 1, a.detail);
            return (Outcome::Fail, detail, a.evidence);
        }
        budget.clock.sleep(budget.backoff.delay(n).min(until - now));
        n += 1;
    }
}

/// Runs the smoke for `target`. Errors are configuration problems found before anything is
/// installed (bad options, an unreadable targets manifest, an unwritable log or temp dir);
/// whatever happens to an install is a finding. Tools are looked up on `opts.path`, else on
/// `env`'s `PATH`; the secrets to mask and the temp dir (`TMPDIR`) come from `env`; the
/// budgets and backoff run on `clock`.
pub fn run(
    repo: &Repo,
    policy: &Policy,
    target: &ReleaseTarget,
    opts: &SmokeOptions,
    clock: &Clock,
    env: &Env,
) -> anyhow::Result<SmokeRun> {
    opts.validate()?;
    let manifest = match &policy.targets {
        Some(t) => Some((manifest::load(&repo.path(&t.manifest), t.manifest.as_str())?, t.manifest.as_str())),
        None => None,
    };
    // The temp dir first: if the log dir cannot be made, it is removed again on the way out.
    let work = dirs::work_dir(repo, env)?;
    let name = dirs::run_name(target, clock);
    let logs = dirs::create_unique(&repo.path(".scratch/release/logs"), &name)?;
    let work_root = Utf8Path::from_path(work.path())
        .with_context(|| format!("the temp dir {} is not UTF-8", work.path().display()))?
        .to_owned();
    let redactor = crate::redact::Redactor::from_env(env);
    let tool_path = opts.path.as_deref().or(env.path());
    let start = clock.instant();
    let budget = Budget {
        clock: clock.clone(),
        start,
        deadline: start + opts.max_wait,
        propagation: start + opts.propagation,
        backoff: opts.backoff,
        floor: opts.attempt_floor,
    };
    let unpin = channels::repository_pinned_toolchain(repo, env);
    let per_channel: Vec<Vec<Finding>> = std::thread::scope(|scope| {
        let handles: Vec<_> = opts
            .channels
            .iter()
            .map(|&channel| {
                let skip = match (&manifest, opts.platform) {
                    (Some((m, shown)), Some(platform)) => not_shipped_for(m, shown, channel, platform),
                    _ => None,
                };
                let job = channels::Job {
                    policy,
                    target,
                    opts,
                    budget: budget.clone(),
                    dir: work_root.join(channel.name()),
                    logs: logs.join(channel.name()),
                    root: repo.root(),
                    redactor: &redactor,
                    tool_path,
                    unpin,
                };
                (channel, scope.spawn(move || channels::run(channel, &job, skip)))
            })
            .collect();
        handles
            .into_iter()
            .map(|(channel, handle)| {
                handle.join().unwrap_or_else(|_| {
                    vec![Finding::incomplete(
                        check(channel),
                        channel.name(),
                        "the channel's smoke stopped unexpectedly (a bug in release-core); its result is unknown",
                    )]
                })
            })
            .collect()
    });
    let mut findings: Vec<Finding> = per_channel.into_iter().flatten().collect();
    let kept = if opts.keep_scratch {
        // The installs and their logs together, where CI uploads them from.
        let kept = dirs::create_unique(&repo.path(".scratch/release"), &name)?;
        dirs::copy_tree(&work_root, &kept)?;
        dirs::copy_tree(&logs, &kept)?;
        let shown = kept.strip_prefix(repo.root()).map_or_else(|_| kept.clone(), Utf8Path::to_owned);
        for f in &mut findings {
            f.evidence.push(Evidence::note(format!("scratch files kept in {shown}")));
        }
        Some(kept)
    } else {
        None
    };
    work.close().with_context(|| format!("cannot remove the smoke's temp dir {work_root}"))?;
    Ok(SmokeRun { report: Report::new("smoke", Some(target.tag()), findings), kept })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(v: &str) -> ReleaseTarget {
        ReleaseTarget::parse(v).unwrap()
    }

    #[test]
    fn version_must_be_a_whole_word() {
        let v = t("0.8.0");
        for yes in ["plasmite 0.8.0", "plasmite v0.8.0\n", "0.8.0", "plasmite (0.8.0)", "version: 0.8.0."] {
            assert!(has_version_token(yes, &v), "{yes:?}");
        }
        for no in ["plasmite 10.8.0", "plasmite 0.8.01", "plasmite 0.8.0-rc.1", "plasmite 0x8y0", "plasmite-0.8.0", ""]
        {
            assert!(!has_version_token(no, &v), "{no:?}");
        }
        let rc = t("1.2.3-rc.1");
        assert!(has_version_token("plasmite 1.2.3-rc.1", &rc));
        assert!(has_version_token("plasmite 1.2.3rc1", &rc), "PEP 440 form");
        assert!(!has_version_token("plasmite 1.2.3", &rc));
    }

    #[test]
    fn the_policy_may_choose_the_channels_to_smoke() {
        let path = camino::Utf8Path::new("release/policy.toml");
        let policy = |extra: &str| {
            let text = crate::testing::PLASMITE_POLICY.replacen("[smoke]\n", &format!("[smoke]\n{extra}"), 1);
            Policy::parse(path, &text).unwrap()
        };
        let all = policy_channels(&policy("")).unwrap();
        assert_eq!(all, [Channel::Npm, Channel::Pypi, Channel::Crates, Channel::Homebrew], "every [channel.*] table");
        let chosen = policy_channels(&policy("channels = [\"crates\", \"homebrew\", \"crates\"]\n")).unwrap();
        assert_eq!(chosen, [Channel::Crates, Channel::Homebrew]);
        let err = policy_channels(&policy("channels = [\"brew\"]\n")).unwrap_err().to_string();
        assert!(err.contains("release/policy.toml") && err.contains("unknown channel `brew`"), "{err}");
    }

    #[test]
    fn backoff_is_capped_for_real() {
        let b = Backoff::default();
        let secs: Vec<u64> = (0..6).map(|n| b.delay(n).as_secs()).collect();
        assert_eq!(secs, [10, 20, 40, 60, 60, 60]);
        assert_eq!(b.delay(u32::MAX), Duration::from_secs(60), "no overflow");
        let budget = Duration::from_secs(200);
        let schedule = b.schedule(budget);
        assert_eq!(schedule.iter().map(Duration::as_secs).collect::<Vec<_>>(), [10, 20, 40, 60, 60, 10]);
        assert_eq!(schedule.iter().sum::<Duration>(), budget, "the budget is used, never exceeded");
    }

    #[test]
    fn retries_stop_at_the_channels_own_budget() {
        let start = Instant::now();
        let budget = Budget {
            clock: Clock::System,
            start,
            deadline: start + Duration::from_millis(300),
            propagation: start + Duration::from_millis(300),
            backoff: Backoff { base: Duration::from_millis(20), cap: Duration::from_millis(50) },
            floor: Duration::ZERO,
        };
        let mut attempts = 0;
        let (outcome, detail, _) = retry(&budget, |_| {
            attempts += 1;
            Attempt::retry("E404 not found", vec![])
        });
        let took = start.elapsed();
        assert_eq!(outcome, Outcome::Fail);
        assert!(detail.contains("E404") && detail.contains(&format!("{attempts} attempts")), "{detail}");
        assert!(attempts >= 5, "{attempts}");
        assert!(took >= Duration::from_millis(300) && took < Duration::from_millis(600), "{took:?}");
        let (outcome, _, _) = retry(&budget, |n| {
            if n < 2 { Attempt::retry("x", vec![]) } else { Attempt::done(Outcome::Pass, "ok", vec![]) }
        });
        assert_eq!(outcome, Outcome::Fail, "the budget is spent: one last attempt, then fail");
    }

    /// The same loop on a manual clock: twenty minutes of budget, no real sleeping.
    #[test]
    fn retries_run_on_the_budgets_clock() {
        let clock = Clock::manual(std::time::UNIX_EPOCH);
        let Clock::Manual(manual) = clock.clone() else { unreachable!() };
        let start = clock.instant();
        let budget = Budget {
            clock: clock.clone(),
            start,
            deadline: start + Duration::from_secs(20 * 60),
            propagation: start + Duration::from_secs(10 * 60),
            backoff: Backoff::default(),
            floor: Duration::from_secs(120),
        };
        let real = Instant::now();
        let mut attempts = 0;
        let (outcome, detail, _) = retry(&budget, |_| {
            attempts += 1;
            Attempt::retry("E404 not found", vec![])
        });
        assert_eq!(outcome, Outcome::Fail);
        // 10 + 20 + 40 + 60 * 18 = 1150 s, then the last 50 s: 22 sleeps, 23 attempts.
        assert_eq!(attempts, 23);
        assert!(detail.contains("after 23 attempts over 20m"), "{detail}");
        let sleeps = manual.sleeps();
        assert_eq!(sleeps.len(), 22);
        assert_eq!(sleeps.iter().map(Duration::as_secs).take(4).collect::<Vec<_>>(), [10, 20, 40, 60]);
        assert_eq!(sleeps.last(), Some(&Duration::from_secs(50)));
        assert_eq!(clock.elapsed(start), Duration::from_secs(20 * 60));
        assert!(real.elapsed() < Duration::from_secs(1), "no real sleeping: {:?}", real.elapsed());
        // A command started now still gets its floor, in real time.
        let left = budget.command_deadline().saturating_duration_since(Instant::now());
        assert!(left > Duration::from_secs(110) && left <= Duration::from_secs(120), "{left:?}");
        // A decision ends the loop at once, without sleeping.
        let (outcome, _, _) = retry(&budget, |_| Attempt::done(Outcome::Pass, "ok", vec![]));
        assert_eq!(outcome, Outcome::Pass);
        assert_eq!(manual.sleeps().len(), 22);
    }

    fn manual_budget() -> (Budget, crate::clock::ManualClock) {
        let clock = Clock::manual(std::time::UNIX_EPOCH);
        let Clock::Manual(manual) = clock.clone() else { unreachable!() };
        let start = clock.instant();
        let budget = Budget {
            clock,
            start,
            deadline: start + Duration::from_secs(20 * 60),
            propagation: start + Duration::from_secs(5 * 60),
            backoff: Backoff::default(),
            floor: Duration::ZERO,
        };
        (budget, manual)
    }

    /// A failed install as a tool reports it.
    fn failed(output: &str) -> exec::Ran {
        exec::Ran {
            argv: vec!["cargo".into(), "install".into()],
            code: Some(101),
            output: output.into(),
            timed_out: false,
            not_started: None,
            log: None,
        }
    }

    /// What the channels do with a failed install: classify it, then retry or stop.
    fn on_failure(ran: &exec::Ran) -> Attempt {
        match failure::classify(ran) {
            failure::Failure::Transient(why) => Attempt::retry(why, vec![]),
            failure::Failure::NotYetVisible(why) => Attempt::not_yet(why, vec![]),
            failure::Failure::Deterministic(why) => Attempt::done(Outcome::Fail, why, vec![]),
        }
    }

    /// A build error, or a package that does not exist, fails at the first attempt: no sleep
    /// on the budget's clock, not twenty minutes of retries.
    #[test]
    fn a_deterministic_failure_stops_at_once() {
        for output in [
            "   Compiling plasmite v0.8.0\nerror: could not compile `plasmite` (bin \"plasmite\") due to 1 previous error",
            "npm error code E404\nnpm error 404 Not Found - GET http://r/plasmit - Not found",
            "  ╰─▶ Because plasmit was not found in the package registry and you require plasmit==0.8.0, ...",
        ] {
            let (budget, manual) = manual_budget();
            let mut attempts = 0;
            let (outcome, detail, _) = retry(&budget, |_| {
                attempts += 1;
                on_failure(&failed(output))
            });
            assert_eq!((outcome, attempts), (Outcome::Fail, 1), "{output}: {detail}");
            assert!(manual.sleeps().is_empty(), "no sleeping: {:?}", manual.sleeps());
        }
    }

    /// A version the index does not list yet is retried within the propagation window only;
    /// the network for the whole budget.
    #[test]
    fn a_missing_version_is_retried_within_the_propagation_window_only() {
        let (budget, manual) = manual_budget();
        let missing = failed("error: could not find `plasmite` in registry `fake` with version `=0.9.0`");
        let mut attempts = 0;
        let (outcome, detail, _) = retry(&budget, |_| {
            attempts += 1;
            on_failure(&missing)
        });
        assert_eq!(outcome, Outcome::Fail);
        // 10 + 20 + 40 + 60 + 60 + 60 + 50 = 300 s: seven sleeps, eight attempts.
        assert_eq!(attempts, 8, "{detail}");
        assert_eq!(manual.sleeps().iter().sum::<Duration>(), Duration::from_secs(5 * 60));
        assert!(detail.contains("after 8 attempts over 5m (the propagation window)"), "{detail}");

        let (budget, manual) = manual_budget();
        let network = failed("warning: spurious network error (2 tries remaining): [7] Couldn't connect to server");
        let (outcome, _, _) = retry(&budget, |_| on_failure(&network));
        assert_eq!(outcome, Outcome::Fail);
        assert_eq!(manual.sleeps().iter().sum::<Duration>(), Duration::from_secs(20 * 60), "the whole budget");

        // A window longer than the budget ends with the budget.
        let (mut budget, manual) = manual_budget();
        budget.propagation = budget.start + Duration::from_secs(60 * 60);
        let (_, detail, _) = retry(&budget, |_| on_failure(&missing));
        assert_eq!(manual.sleeps().iter().sum::<Duration>(), Duration::from_secs(20 * 60));
        assert!(!detail.contains("propagation window"), "{detail}");
    }

    #[test]
    fn channels_parse_strictly() {
        assert_eq!(parse_channels(" npm, pypi ,npm").unwrap(), [Channel::Npm, Channel::Pypi]);
        assert_eq!(parse_channels("npm,pypi,crates,homebrew").unwrap().len(), 4);
        for bad in ["npm,brew", "", "npm,", "NPM"] {
            let e = parse_channels(bad).unwrap_err().to_string();
            assert!(e.contains("unknown channel") && e.contains("homebrew"), "{e}");
        }
    }

    #[test]
    fn options_are_validated() {
        assert!(SmokeOptions::new(vec![Channel::Npm]).validate().is_ok());
        assert!(SmokeOptions::new(vec![]).validate().is_err());
        let zero = SmokeOptions { max_wait: Duration::ZERO, ..SmokeOptions::new(vec![Channel::Npm]) };
        assert!(zero.validate().is_err());
        let inverted = Backoff { base: Duration::from_secs(10), cap: Duration::from_secs(1) };
        assert!(SmokeOptions { backoff: inverted, ..SmokeOptions::new(vec![Channel::Npm]) }.validate().is_err());
    }
}
