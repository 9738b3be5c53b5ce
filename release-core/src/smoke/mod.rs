//! Install smoke after a release (facts §11.2, bugs 2, 29-32; docs/smoke.md): for each channel,
//! install the released package in a scratch dir with the ecosystem's own tool and run the
//! installed binary's `--version`, which must print the exact version as a whole word.
//!
//! - Channels run concurrently, each with its OWN budget (`max_wait`) and capped exponential
//!   backoff between attempts ([`Backoff`]), so a slow channel never eats another's time.
//! - Every leg is its own finding (npm and pnpm are two), and the last attempt's command and
//!   output tail are its evidence (redacted).
//! - A tool that is missing is `Incomplete` naming it; Homebrew off macOS is `Skipped`.
//! - Unknown channel names are rejected by [`parse_channels`] before anything runs.
//!
//! - [`exec`]: running one command with a deadline and a log file.
//! - `channels`: what one attempt of each channel does.

mod channels;
pub mod exec;

use std::{
    ffi::OsString,
    fs,
    time::{Duration, Instant},
};

use anyhow::{Context as _, bail};
use camino::{Utf8Path, Utf8PathBuf};

use crate::{
    clock::Clock, env::Env, manifest::Channel, policy::Policy, repo::Repo, report::CheckId, report::Evidence,
    report::Finding, report::Outcome, report::Report, target::ReleaseTarget,
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

/// The channels of the policy, when `--channels` is not given: every channel among
/// [`Channel::SMOKE`] that has a `[channel.*]` table.
pub fn policy_channels(policy: &Policy) -> Vec<Channel> {
    let c = &policy.channels;
    Channel::SMOKE
        .into_iter()
        .filter(|ch| match ch {
            Channel::Npm => c.npm.is_some(),
            Channel::Pypi => c.pypi.is_some(),
            Channel::Crates => c.crates.is_some(),
            Channel::Homebrew => c.homebrew.is_some(),
            Channel::Github | Channel::CargoBinstall => false,
        })
        .collect()
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
    /// Keep the scratch dir (its path is in the result).
    pub keep_scratch: bool,
    /// The operating system (`std::env::consts::OS`); Homebrew runs only on `macos`.
    pub os: String,
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
            keep_scratch: false,
            os: std::env::consts::OS.to_string(),
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

/// What a channel's attempt says.
#[derive(Debug)]
pub(crate) struct Attempt {
    /// `None`: not yet; try again while the budget lasts.
    pub outcome: Option<Outcome>,
    pub detail: String,
    pub evidence: Vec<Evidence>,
}

impl Attempt {
    pub(crate) fn done(outcome: Outcome, detail: impl Into<String>, evidence: Vec<Evidence>) -> Attempt {
        Attempt { outcome: Some(outcome), detail: detail.into(), evidence }
    }

    pub(crate) fn retry(detail: impl Into<String>, evidence: Vec<Evidence>) -> Attempt {
        Attempt { outcome: None, detail: detail.into(), evidence }
    }
}

/// The budget of one channel: `start` and `deadline` are instants of `clock`.
#[derive(Debug, Clone)]
pub(crate) struct Budget {
    pub clock: Clock,
    pub start: Instant,
    pub deadline: Instant,
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

/// Runs `attempt` until it decides, or until the budget is spent; then a last undecided
/// attempt is a failure that says how many attempts over how long.
pub(crate) fn retry(budget: &Budget, mut attempt: impl FnMut(u32) -> Attempt) -> (Outcome, String, Vec<Evidence>) {
    let mut n = 0;
    loop {
        let a = attempt(n + 1);
        if let Some(outcome) = a.outcome {
            return (outcome, a.detail, a.evidence);
        }
        let now = budget.clock.instant();
        if now >= budget.deadline {
            let waited = crate::duration::format(now.duration_since(budget.start));
            let detail = format!("still not installable after {} attempts over {waited}: {}", n + 1, a.detail);
            return (Outcome::Fail, detail, a.evidence);
        }
        budget.clock.sleep(budget.backoff.delay(n).min(budget.deadline - now));
        n += 1;
    }
}

/// Runs the smoke for `target`. Errors are configuration problems found before anything is
/// installed (bad options, an unwritable scratch dir); whatever happens to an install is a
/// finding. Tools are looked up on `opts.path`, else on `env`'s `PATH`; the secrets to mask
/// come from `env`; the budgets and backoff run on `clock`.
pub fn run(
    repo: &Repo,
    policy: &Policy,
    target: &ReleaseTarget,
    opts: &SmokeOptions,
    clock: &Clock,
    env: &Env,
) -> anyhow::Result<SmokeRun> {
    opts.validate()?;
    let scratch = create_scratch(repo, target, clock)?;
    let redactor = crate::redact::Redactor::from_env(env);
    let tool_path = opts.path.as_deref().or(env.path());
    let start = clock.instant();
    let budget = Budget {
        clock: clock.clone(),
        start,
        deadline: start + opts.max_wait,
        backoff: opts.backoff,
        floor: opts.attempt_floor,
    };
    let per_channel: Vec<Vec<Finding>> = std::thread::scope(|scope| {
        let handles: Vec<_> = opts
            .channels
            .iter()
            .map(|&channel| {
                let dir = scratch.join(channel.name());
                let budget = budget.clone();
                let job = channels::Job { policy, target, opts, budget, dir, redactor: &redactor, tool_path };
                (channel, scope.spawn(move || channels::run(channel, &job)))
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
    let shown = scratch.strip_prefix(repo.root()).map_or_else(|_| scratch.clone(), Utf8Path::to_owned);
    let kept = if opts.keep_scratch {
        for f in &mut findings {
            f.evidence.push(Evidence::note(format!("scratch files kept in {shown}")));
        }
        Some(scratch)
    } else {
        fs::remove_dir_all(&scratch).with_context(|| format!("cannot remove the scratch dir {shown}"))?;
        None
    };
    Ok(SmokeRun { report: Report::new("smoke", Some(target.tag()), findings), kept })
}

fn create_scratch(repo: &Repo, target: &ReleaseTarget, clock: &Clock) -> anyhow::Result<Utf8PathBuf> {
    let parent = repo.path(".scratch/release");
    fs::create_dir_all(&parent).with_context(|| format!("cannot create {parent}"))?;
    // `2026-07-28T09:15:00Z` -> `20260728-091500`.
    let stamp: String = clock.timestamp().chars().filter(|c| c.is_ascii_digit() || *c == 'T').collect();
    let stamp = stamp.replace('T', "-");
    let tag = target.tag();
    for n in 1..100 {
        let name = if n == 1 { format!("smoke-{tag}-{stamp}") } else { format!("smoke-{tag}-{stamp}-{n}") };
        let dir = parent.join(name);
        match fs::create_dir(&dir) {
            Ok(()) => return Ok(dir),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e).with_context(|| format!("cannot create {dir}")),
        }
    }
    bail!("too many smoke folders for {tag} at {stamp} in {parent}")
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
