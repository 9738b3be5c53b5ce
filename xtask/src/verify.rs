//! `verify` and `homebrew render|check`: parse, call release-core, render. The partial-publish
//! block is printed after the report.

use std::io::Write;

use anyhow::{Context as _, bail};
use camino::Utf8PathBuf;
use clap::{Args, Subcommand};
use release_core::{
    Context, Evidence, ReleaseTarget, Report,
    http::{HttpConfig, TokenSource},
    registry::{self, Probe, homebrew},
    targets,
    verify::{self, Channel, PartialPublish},
};

use crate::{cli::Common, render, repo_checks::open};

#[derive(Args)]
pub struct VerifyArgs {
    /// The release target, vX.Y.Z or vX.Y.Z-rc.N.
    pub target: String,
    /// Channels to check, comma-separated: crates, npm, pypi, github, homebrew, ci [default: all].
    #[arg(long, value_name = "LIST")]
    pub channels: Option<String>,
    /// Also download the artifacts and compare their checksums (crate, npm tarball and its
    /// native files, PyPI files, GitHub archives).
    #[arg(long)]
    pub deep: bool,
    /// Re-check channels that do not pass yet until they do or this much time has passed (e.g. 20m).
    #[arg(long, value_name = "DURATION")]
    pub wait: Option<String>,
    /// Check this local formula file instead of the tap's.
    #[arg(long, value_name = "FILE")]
    pub formula: Option<Utf8PathBuf>,
    /// File a release blocker for every failed or incomplete check, in the policy's tracker
    /// and the evidence record; a re-run files nothing twice.
    #[arg(long)]
    pub file_blockers: bool,
    #[command(flatten)]
    pub http: HttpArgs,
}

/// HTTP limits (defaults suit the public services; tests make them small).
#[derive(Args, Clone)]
pub struct HttpArgs {
    /// Time limit of one HTTP request (e.g. 30s) [default: 60s].
    #[arg(long, value_name = "DURATION")]
    pub http_timeout: Option<String>,
    /// Extra attempts on transport errors, 429 and 5xx [default: 3].
    #[arg(long, value_name = "N")]
    pub http_retries: Option<u32>,
}

impl HttpArgs {
    fn apply(&self, cx: Context) -> anyhow::Result<Context> {
        if self.http_timeout.is_none() && self.http_retries.is_none() {
            return Ok(cx);
        }
        let mut config = HttpConfig::default();
        if let Some(t) = &self.http_timeout {
            let d = release_core::duration::parse(t).context("--http-timeout")?;
            config.request_timeout = d;
            config.connect_timeout = config.connect_timeout.min(d);
            config.backoff_cap = config.backoff_cap.min(d);
            config.backoff_base = config.backoff_base.min(d / 4);
        }
        if let Some(n) = self.http_retries {
            config.retries = n;
        }
        Ok(cx.with_http(config, TokenSource::Discover))
    }
}

#[derive(Subcommand)]
pub enum HomebrewCommand {
    /// Write the formula for a release from a sums file (pre-releases work).
    Render(HomebrewRender),
    /// Check a formula (a local file, or the tap's on GitHub) against a sums file.
    Check(HomebrewCheck),
}

#[derive(Args)]
pub struct HomebrewRender {
    /// The release target, vX.Y.Z.
    pub target: String,
    /// The release's sha256sums.txt.
    #[arg(long, value_name = "FILE")]
    pub sha256sums: Utf8PathBuf,
    /// Write here (atomically) instead of standard output.
    #[arg(long, value_name = "FILE")]
    pub out: Option<Utf8PathBuf>,
}

#[derive(Args)]
pub struct HomebrewCheck {
    /// The release target, vX.Y.Z.
    pub target: String,
    /// The release's sha256sums.txt.
    #[arg(long, value_name = "FILE")]
    pub sha256sums: Utf8PathBuf,
    /// The formula file [default: the tap's, read from GitHub].
    #[arg(long, value_name = "FILE")]
    pub formula: Option<Utf8PathBuf>,
    #[command(flatten)]
    pub http: HttpArgs,
}

pub fn verify(common: &Common, args: VerifyArgs) -> anyhow::Result<u8> {
    let cx = args.http.apply(open(common)?)?;
    let target = ReleaseTarget::parse(&args.target)?;
    let channels = match &args.channels {
        Some(list) => Channel::parse_list(list)?,
        None => Channel::ALL.to_vec(),
    };
    let wait = args.wait.as_deref().map(release_core::duration::parse).transpose().context("--wait")?;
    let options = verify::Options { channels, deep: args.deep, wait, formula: args.formula };
    let mut result = verify::run(&cx, &target, &options)?;
    if args.file_blockers {
        result.report = crate::blocker::file_for_report(&cx, result.report, &target);
    }
    release_core::evidence::append(&cx.repo, &target, &result.report, &cx.clock)
        .with_context(|| format!("cannot record the verify report in the evidence of {}", target.tag()))?;
    if common.json {
        let mut value = serde_json::to_value(&result.report)?;
        if let Some(map) = value.as_object_mut() {
            map.insert("partial_publish".into(), serde_json::to_value(&result.partial_publish)?);
            map.insert("rounds".into(), result.rounds.into());
        }
        let text = cx.http.redact(&serde_json::to_string_pretty(&value)?);
        println!("{text}");
        render::github(&result.report, true);
        return Ok(result.report.verdict.exit_code());
    }
    let code = render::report(&result.report, false);
    if let Some(partial) = &result.partial_publish {
        let _ = write_partial(&mut std::io::stdout().lock(), partial);
    }
    Ok(code)
}

/// The partial-publish block shown after the report.
pub fn write_partial(out: &mut impl Write, p: &PartialPublish) -> std::io::Result<()> {
    let names = |cs: &[Channel]| cs.iter().map(|c| c.name()).collect::<Vec<_>>().join(", ");
    writeln!(out)?;
    writeln!(out, "PARTIAL PUBLISH: live on {}; missing on {}", names(&p.live), names(&p.missing))?;
    writeln!(out, "  recovery: {}", p.recovery)
}

fn homebrew_probe_parts(cx: &Context) -> anyhow::Result<Option<targets::Manifest>> {
    match &cx.policy.targets {
        Some(t) => Ok(Some(targets::load(&cx.repo.path(&t.manifest), t.manifest.as_str())?)),
        None => bail!("{}: the policy has no [targets] manifest (the Homebrew platforms come from it)", cx.policy.path),
    }
}

fn read_sums(path: &Utf8PathBuf) -> anyhow::Result<Vec<registry::SumLine>> {
    let text = std::fs::read_to_string(path).with_context(|| format!("cannot read {path}"))?;
    registry::parse_sums(&text).map_err(|bad| anyhow::anyhow!("{path}: malformed sums file:\n  {}", bad.join("\n  ")))
}

pub fn homebrew(common: &Common, command: HomebrewCommand) -> anyhow::Result<u8> {
    match command {
        HomebrewCommand::Render(args) => {
            let cx = open(common)?;
            let target = ReleaseTarget::parse(&args.target)?;
            let manifest = homebrew_probe_parts(&cx)?;
            let sums = read_sums(&args.sha256sums)?;
            let probe = Probe { manifest: manifest.as_ref(), ..Probe::of(&cx, &target) };
            let text =
                homebrew::render(&homebrew::render_input(&probe, &sums).with_context(|| args.sha256sums.to_string())?);
            match &args.out {
                Some(out) => {
                    release_core::fsutil::write_atomic(out, text.as_bytes())?;
                    eprintln!("wrote {out} for {}", target.tag());
                }
                None => print!("{text}"),
            }
            Ok(0)
        }
        HomebrewCommand::Check(args) => {
            let cx = args.http.apply(open(common)?)?;
            let target = ReleaseTarget::parse(&args.target)?;
            let manifest = homebrew_probe_parts(&cx)?;
            let sums = read_sums(&args.sha256sums)?;
            let probe =
                Probe { manifest: manifest.as_ref(), formula: args.formula.as_deref(), ..Probe::of(&cx, &target) };
            let findings = match homebrew::fetch_formula(&probe) {
                Ok((text, evidence)) => {
                    let mut f = homebrew::check_alignment(&probe, &text, &sums, &evidence);
                    for finding in &mut f {
                        finding.evidence.push(Evidence::file(args.sha256sums.as_str()));
                    }
                    f
                }
                Err(e) => vec![e.finding()],
            };
            let report = Report::new("homebrew check", Some(target.tag()), findings);
            Ok(render::report(&report, common.json))
        }
    }
}
