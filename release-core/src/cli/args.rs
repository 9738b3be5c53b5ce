//! The command line, declared with clap. Each command's `--help` says what it proves.
//! Only shapes live here; every value is turned into a typed request in `dispatch`.

use camino::Utf8PathBuf;
use clap::{Args, Parser, Subcommand};

#[derive(Parser)]
#[command(name = "cargo xtask", bin_name = "cargo xtask", about = "Project automation.")]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand)]
pub enum Command {
    /// Release machinery: checks before tagging, verification after publishing.
    ///
    /// Exit codes: 0 ready, 1 blocked (something failed), 3 incomplete (something could not be
    /// decided, or nothing was checked), 2 usage or configuration error.
    // `--version` says which release-core an adopting repository's xtask was built with.
    #[command(version, display_name = "release-core")]
    Release {
        #[command(flatten)]
        common: Common,
        #[command(subcommand)]
        command: Release,
    },
}

/// Options every release command takes; `--help` lists them apart from each command's own.
#[derive(Args, Clone)]
#[command(next_help_heading = "Global options")]
pub struct Common {
    /// The repository (any folder inside it) [default: the current directory].
    #[arg(long, global = true, value_name = "DIR")]
    pub repo: Option<Utf8PathBuf>,
    /// The policy file [default: release/policy.toml under the repository root].
    #[arg(long, global = true, value_name = "FILE")]
    pub policy: Option<Utf8PathBuf>,
    /// Print the output as JSON instead of text: one envelope for every command and error
    /// (docs/json.md).
    #[arg(long, global = true)]
    pub json: bool,
    /// Colour the status words: auto (a terminal, unless NO_COLOR is set or TERM=dumb;
    /// CLICOLOR_FORCE forces it), always, or never. Never in --json or in files.
    #[arg(long, global = true, value_name = "WHEN", default_value = "auto", value_parser = ["auto", "always", "never"])]
    pub color: String,
    /// No status lines on stderr (what is being checked, waits, retries); the report and
    /// errors still print.
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub quiet: bool,
    /// Also show each HTTP request on stderr, as cargo's -v does.
    #[arg(short, long, global = true)]
    pub verbose: bool,
    /// The process environment, read once when the command line is parsed.
    #[arg(skip)]
    pub env: crate::env::Env,
    /// Whether stdout and stderr get colour, decided once from `color` and `env`.
    #[arg(skip)]
    pub paint: super::render::Paint,
    /// Set once the flags are parsed and the repository is being opened: an error after that
    /// is about the repository or its files (`config`), before it about the command line
    /// (`usage`).
    #[arg(skip)]
    pub opened: std::cell::Cell<bool>,
    /// What the run leaves for `$GITHUB_OUTPUT`, noted as the command renders its outcome.
    #[arg(skip)]
    pub outputs: super::github_output::StepOutputs,
}

#[derive(Subcommand)]
pub enum Release {
    /// Check that every version surface agrees, or set a new version on all of them.
    ///
    /// Reads each `[[version]]` surface of the policy (TOML and JSON fields, the Cargo.lock
    /// entry) and fails on any mismatch, missing field or invalid version, naming the file,
    /// line and both values.
    Versions(VersionsArgs),
    /// Check that the changelog has a dated section for a release, finalize it, or print its notes.
    Changelog(ChangelogArgs),
    /// Validate the targets manifest, or list the targets of a channel.
    Targets(TargetsArgs),
    /// Run every QA gate for a target and append the report to its evidence record.
    ///
    /// Built-in gates (versions, changelog, targets, toolchain pins, clean tree, HEAD pushed,
    /// CI green, no open blockers) then the policy's [[gate]] commands, each timed, with its
    /// output streamed under a header. Every gate runs unless --fail-fast; `when_changed`
    /// gates run only when a matching file changed since the base tag. See docs/gates.md.
    Qa(QaArgs),
    /// File a release blocker in the policy's tracker (ergo, GitHub issues, or none), or close one.
    ///
    /// ergo: one epic per target (`Release blockers: vX.Y.Z`); GitHub: an issue labelled
    /// release-blocker titled `[release-blocker][vX.Y.Z] <title>`. A blocker whose title is
    /// already open there is not filed twice. With --run-id, the run's URL and failed jobs are
    /// added. Log excerpts are cut to their end and redacted of secrets. `--close B1 --reason
    /// TEXT` closes the evidence record's blocker (not the tracker's item).
    Blocker(BlockerArgs),
    /// Compare benchmarks of the candidate (HEAD, or the dirty work tree) against a base tag.
    ///
    /// Builds both sides in their own trees and target dirs, runs the `[bench]` program
    /// interleaved (base, candidate, base, ...) and compares medians per scenario. Only a
    /// `regressed` scenario (slower by at least the threshold and every candidate run slower
    /// than every base run) blocks. Writes summary.json, summary.md and plot.svg under
    /// .scratch/release/bench-<base>-<timestamp>/.
    Bench(BenchArgs),
    /// Check licence and notice files: at the root, in the policy's copies, and at their exact
    /// paths inside every release archive (sdist, wheel, npm tarball, SDK archive, crate).
    Notices(NoticesArgs),
    /// Create or reopen the evidence record of a release (.scratch/release/evidence-vX.Y.Z.json).
    Evidence(EvidenceArgs),
    /// Print the resume checkpoint of a release: git state, tag, last runs, failing gates,
    /// open blockers and the next step of the runbook.
    Status(StatusArgs),
    /// Install the released package from each channel and run its `--version`.
    ///
    /// npm (and a pnpm leg), PyPI (uv), crates (cargo install) and Homebrew (macOS only),
    /// each in a scratch dir under .scratch/release/smoke-<tag>-<timestamp>/, concurrently,
    /// each with its own --max-wait budget and capped backoff between attempts. The installed
    /// binary, run by path, must print the exact version as a whole word. A missing tool is
    /// INCOMPLETE naming it; Homebrew off macOS is SKIP.
    Smoke(SmokeArgs),
    /// Verify a published release on every channel (docs/verify.md).
    ///
    /// For each channel: the exact version is published and intact; if it is the newest
    /// release, it is what users get by default; a pre-release is never the default. Channels
    /// run concurrently. Exit codes: 0 verified, 1 blocked, 3 incomplete, 2 usage.
    Verify(VerifyArgs),
    /// Prove which build a publish would use: the build run, its metadata artifact, the tag's commit.
    ///
    /// The run must be of the policy's `[build] workflow` file (not just carry its display
    /// name) and have succeeded; its metadata artifact (a zip, read in memory, traversal and
    /// oversized members refused) must hold a metadata.json whose tag is a release target,
    /// whose version is the tag without `v`, which is the expected tag, and whose source_sha
    /// is both the run's head commit and the commit the tag points to. Needs a GitHub token
    /// (artifact downloads require one). See docs/provenance.md.
    Provenance(ProvenanceArgs),
    /// Print where each service is read from, and what HTTPS trusts.
    ///
    /// Each registry's base URL is the policy's `[endpoints]` value, else what the ecosystem's
    /// own tools on this machine use (cargo's source configuration, npm's registry setting,
    /// pip's and uv's index, GITHUB_API_URL), else the public default; printed with where it
    /// came from. HTTPS trusts SSL_CERT_FILE/SSL_CERT_DIR, else the OS store. Exit 3 when a
    /// registry cannot be determined or the trust store cannot be loaded. See docs/endpoints.md.
    Endpoints,
    /// Render the Homebrew formula for a release, or check a formula against a sums file.
    #[command(subcommand)]
    Homebrew(HomebrewCommand),
    /// Check, before tagging, that the release can run: the GitHub token may read Actions,
    /// dispatch workflows and write contents (and issues, when blockers go there), naming any
    /// permission it lacks; the repository has the publish secrets of `[release] secrets`
    /// (and `live_secrets` for a live release); every pin of `[release] pins` has one value
    /// across .github/workflows/*.yml. Recorded in the evidence.
    Preflight(PreflightArgs),
    /// Create the annotated release tag at HEAD (its message: the changelog's notes) and push
    /// it, with each `[release] nested_modules` prefixed tag, in one push.
    ///
    /// Refused unless the record's mode is live, every QA gate holds at exactly HEAD (a
    /// complete run, or waivers given there), no blocker is open, the tree is clean and HEAD
    /// is pushed. A tag already at HEAD is kept; a tag at another commit is never moved.
    Tag(TagArgs),
    /// Find the build workflow's run for the tag (started by the tag push), or dispatch it on
    /// the tag; wait for it, showing the run, its jobs and the time on stderr; record its id,
    /// URL and conclusion. A failed run's failed jobs and the end of their logs (redacted) go
    /// into the record, and a blocker is offered (filed with --file-blockers).
    Build(BuildArgs),
    /// Dispatch the publish workflow for the tag: a rehearsal, or the live publish.
    ///
    /// The build run's provenance is checked first. --live is refused unless the record's
    /// mode is live, the last preflight is ready and a rehearsal of the same build run
    /// succeeded; after it, every channel is verified (verify --wait). --recover re-dispatches
    /// for the same build run (its id as build_run_id) after a failed publish, never a new
    /// tag, and keeps an incident in the record.
    Publish(PublishArgs),
    /// Read the record and run the next steps of the release (bump, finalize, qa, preflight,
    /// tag, build, provenance, rehearsal, live publish, verify, install smoke) until it is done
    /// or a human must decide; say what to do then.
    ///
    /// Stops after a bump (commit and push the release commit), on any step that does not
    /// pass, and after the rehearsal until --live says to publish. In dry-run mode a step that
    /// changes something outside the working tree is refused, saying what it would have done.
    /// Run it again after a kill: a run already started is found, not dispatched twice.
    Next(NextArgs),
}

#[derive(Args)]
pub struct VersionsArgs {
    /// Set this version (X.Y.Z or X.Y.Z-rc.N) on every surface, then check. Only the version
    /// text changes; if any file cannot be written, no file is changed.
    #[arg(long, value_name = "VERSION")]
    pub set: Option<String>,
}

#[derive(Args)]
pub struct ChangelogArgs {
    /// The release target, vX.Y.Z.
    pub target: String,
    /// Turn [Unreleased] into `## [X.Y.Z] - <today, UTC>` and add a fresh [Unreleased] above it.
    #[arg(long, conflicts_with = "notes")]
    pub finalize: bool,
    /// Print the release notes exactly as the publish workflow extracts them.
    #[arg(long)]
    pub notes: bool,
    /// The date for --finalize (YYYY-MM-DD) [default: today, UTC].
    #[arg(long, requires = "finalize", value_name = "DATE")]
    pub date: Option<String>,
}

#[derive(Args)]
pub struct TargetsArgs {
    /// List the targets of this channel: github_sdk, homebrew, npm, pypi, cargo_binstall.
    #[arg(long)]
    pub channel: Option<String>,
    /// With --channel: the tier to list.
    #[arg(long, default_value = "official", value_parser = ["official", "preview"])]
    pub tier: String,
    /// The field to print for each target listed (any target field, booleans included)
    /// [default: sdk_platform].
    #[arg(long)]
    pub field: Option<String>,
    /// List only this target (by rust_target).
    #[arg(long, value_name = "RUST_TARGET")]
    pub rust_target: Option<String>,
}

#[derive(Args)]
pub struct QaArgs {
    /// The release target, vX.Y.Z [default: the version the surfaces agree on].
    pub target: Option<String>,
    /// The base tag for `when_changed` gates [default: the record's, else derived from tags].
    #[arg(long, value_name = "TAG")]
    pub base_tag: Option<String>,
    /// The release mode, recorded when the evidence record is created by this run.
    #[arg(long, value_parser = ["dry-run", "live"])]
    pub mode: Option<String>,
    /// Run only this gate (repeatable); the others are reported as skipped.
    #[arg(long, value_name = "ID")]
    pub only: Vec<String>,
    /// Do not run this gate; it is reported as waived with the matching --reason (repeatable,
    /// the n-th --reason goes with the n-th --waive).
    #[arg(long, value_name = "ID")]
    pub waive: Vec<String>,
    /// Why the gate is waived; kept in the report and the evidence record. In a live release
    /// it must say something (at least 3 words and 20 characters).
    #[arg(long, value_name = "TEXT")]
    pub reason: Vec<String>,
    /// Who runs this, recorded with any waiver [default: the evidence record's agent].
    #[arg(long)]
    pub agent: Option<String>,
    /// Stop at the first failing gate; the rest are reported as skipped.
    #[arg(long)]
    pub fail_fast: bool,
    /// File a release blocker for every failed or incomplete gate (except `blockers`), in the
    /// policy's tracker and the evidence record; a re-run files nothing twice.
    #[arg(long)]
    pub file_blockers: bool,
}

#[derive(Args)]
pub struct EvidenceArgs {
    /// The release target, vX.Y.Z.
    pub target: String,
    /// dry-run or live.
    #[arg(long, value_parser = ["dry-run", "live"])]
    pub mode: String,
    /// Who runs the release (model@host, a name).
    #[arg(long)]
    pub agent: String,
    /// The base tag [default: the highest release tag below the target].
    #[arg(long, value_name = "TAG")]
    pub base_tag: Option<String>,
    /// Start a new record even if one exists with another mode or base tag; the old one is
    /// kept as evidence-vX.Y.Z.json.bak-<timestamp>.
    #[arg(long)]
    pub force: bool,
}

#[derive(Args)]
pub struct StatusArgs {
    /// The release target, vX.Y.Z.
    pub target: String,
}

#[derive(Args)]
pub struct BlockerArgs {
    /// The release target, vX.Y.Z.
    pub target: String,
    /// The gate that failed or was incomplete.
    #[arg(long, required_unless_present = "close")]
    pub check: Option<String>,
    /// Short title of the blocker.
    #[arg(long, required_unless_present = "close")]
    pub title: Option<String>,
    /// What happened.
    #[arg(long, required_unless_present = "close")]
    pub summary: Option<String>,
    /// The workflow run the failure came from; its URL and failed jobs are read from GitHub.
    #[arg(long, value_name = "ID", value_parser = clap::value_parser!(u64))]
    pub run_id: Option<u64>,
    /// That run's URL [default: read from the run with --run-id].
    #[arg(long, value_name = "URL")]
    pub run_url: Option<String>,
    /// The command that failed.
    #[arg(long, value_name = "CMD")]
    pub failing_command: Option<String>,
    /// A log file whose last lines go into the body (redacted of secrets).
    #[arg(long, value_name = "FILE")]
    pub log_snippet_file: Option<Utf8PathBuf>,
    /// Who files it (model@host, a name), kept in the body and the evidence record [default:
    /// the evidence record's agent].
    #[arg(long, value_name = "NAME", conflicts_with = "close")]
    pub agent: Option<String>,
    /// Say what would be filed; create nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// The ergo executable [default: the policy's `[blockers] ergo`, else `ergo`].
    #[arg(long, value_name = "PROGRAM")]
    pub ergo: Option<String>,
    /// Close this blocker (B1, B2...) of the evidence record instead of filing one; the
    /// tracker's item is closed in the tracker.
    #[arg(
        long,
        value_name = "ID",
        requires = "reason",
        conflicts_with_all = ["check", "title", "summary", "run_id", "run_url", "failing_command", "log_snippet_file", "dry_run", "ergo"]
    )]
    pub close: Option<String>,
    /// Why the blocker no longer blocks (with --close); kept as a decision in the evidence record.
    #[arg(long, value_name = "TEXT", requires = "close")]
    pub reason: Option<String>,
}

#[derive(Args)]
pub struct ProvenanceArgs {
    /// The build run to inspect (its id, as in the run's URL).
    #[arg(long, value_name = "ID", required_unless_present = "tag", conflicts_with = "tag")]
    pub run_id: Option<u64>,
    /// Inspect the newest successful build run on this tag's commit; the tag is also the
    /// expected one.
    #[arg(long, value_name = "TAG")]
    pub tag: Option<String>,
    /// With --run-id: the tag the build must be of (vX.Y.Z).
    #[arg(long, value_name = "TAG", conflicts_with = "tag")]
    pub expect_tag: Option<String>,
}

#[derive(Args)]
pub struct PreflightArgs {
    /// The release target, vX.Y.Z [default: the version the surfaces agree on].
    pub target: Option<String>,
    /// Also require the secrets only a live publish needs [default: when the record's mode is live].
    #[arg(long)]
    pub live: bool,
}

#[derive(Args)]
pub struct TagArgs {
    /// The release target, vX.Y.Z.
    pub target: String,
    /// The remote to push to [default: the policy's `[release] remote`, else origin].
    #[arg(long, value_name = "NAME")]
    pub remote: Option<String>,
}

/// How long to wait for a workflow run.
#[derive(Args, Clone)]
pub struct WaitArgs {
    /// Give up waiting (INCOMPLETE) after this long (e.g. 45m).
    #[arg(long, default_value = "60m", value_name = "DURATION")]
    pub timeout: String,
    /// Look at the run this often.
    #[arg(long, default_value = "20s", value_name = "DURATION")]
    pub poll: String,
}

#[derive(Args)]
pub struct BuildArgs {
    /// The release target, vX.Y.Z (its tag must be pushed).
    pub target: String,
    #[command(flatten)]
    pub wait: WaitArgs,
    /// File a release blocker for a failed run, with its failed jobs and log excerpts.
    #[arg(long)]
    pub file_blockers: bool,
}

#[derive(Args)]
pub struct PublishArgs {
    /// The release target, vX.Y.Z.
    pub target: String,
    /// Rehearse: every check of the publish workflow, no registry and no release written.
    #[arg(long, conflicts_with = "live", required_unless_present = "live")]
    pub rehearsal: bool,
    /// Publish for real.
    #[arg(long)]
    pub live: bool,
    /// Re-dispatch for the same build run after a failed publish (incident recovery).
    #[arg(long)]
    pub recover: bool,
    #[command(flatten)]
    pub wait: WaitArgs,
    /// After a live publish, how long verify waits for every channel.
    #[arg(long, default_value = "20m", value_name = "DURATION")]
    pub verify_wait: String,
    /// File a release blocker for a failed run, with its failed jobs and log excerpts.
    #[arg(long)]
    pub file_blockers: bool,
}

#[derive(Args)]
pub struct NextArgs {
    /// The release target, vX.Y.Z.
    pub target: String,
    /// Go ahead with the live publish once the rehearsal succeeded (the human's decision).
    #[arg(long)]
    pub live: bool,
    #[command(flatten)]
    pub wait: WaitArgs,
    /// After the live publish, how long verify waits for every channel; also each channel's
    /// budget in the install smoke that follows.
    #[arg(long, default_value = "20m", value_name = "DURATION")]
    pub verify_wait: String,
}

#[derive(Args)]
pub struct BenchArgs {
    /// The release tag to compare against (vX.Y.Z); must exist locally.
    #[arg(long, value_name = "TAG")]
    pub base_tag: String,
    /// Runs per side (at least 1).
    #[arg(long, default_value_t = 3)]
    pub runs: u32,
    /// Messages per run, filled in for `{messages}` in `[bench] run` (at least 1).
    #[arg(long, default_value_t = 5000)]
    pub messages: u64,
    /// A median slowdown of at least this many percent is a regression.
    #[arg(long, default_value_t = 15.0, allow_negative_numbers = true)]
    pub threshold_percent: f64,
    /// Scenarios whose medians are below this on both sides are noise (ms/msg).
    #[arg(long, default_value_t = 0.0001, allow_negative_numbers = true)]
    pub noise_floor: f64,
}

#[derive(Args)]
pub struct NoticesArgs {
    /// Archives or folders to check (relative to the repository root) [default: the policy's
    /// `[notices] search` folders].
    #[arg(value_name = "PATH")]
    pub paths: Vec<Utf8PathBuf>,
    /// The release whose archives count, vX.Y.Z [default: the version every surface agrees on].
    #[arg(long, value_name = "vX.Y.Z")]
    pub target: Option<String>,
}

#[derive(Args)]
pub struct SmokeArgs {
    /// The release target, vX.Y.Z.
    pub target: String,
    /// Comma-separated channels: npm, pypi, crates, homebrew [default: those with a
    /// [channel.*] table in the policy].
    #[arg(long, value_name = "LIST")]
    pub channels: Option<String>,
    /// Each channel's own time budget for attempts (e.g. 20m, 1h).
    #[arg(long, default_value = "20m", value_name = "DURATION")]
    pub max_wait: String,
    /// The delay after the first failed attempt; it doubles after each one, up to --retry-cap.
    #[arg(long, default_value = "10s", value_name = "DURATION")]
    pub retry_delay: String,
    /// The longest delay between attempts.
    #[arg(long, default_value = "60s", value_name = "DURATION")]
    pub retry_cap: String,
    /// Keep the scratch dir (its path is printed) instead of removing it.
    #[arg(long)]
    pub keep_scratch: bool,
}

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

#[derive(Subcommand)]
pub enum HomebrewCommand {
    /// Write the formula for a release from a sums file (pre-releases work).
    Render(HomebrewRender),
    /// Check a formula (a local file, or the tap's on GitHub) against a sums file.
    Check(HomebrewCheck),
    /// Update the tap's formula in place: only its version, urls and sha256 lines change.
    Update(HomebrewUpdate),
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
pub struct HomebrewUpdate {
    /// The release target, vX.Y.Z.
    pub target: String,
    /// The release's sha256sums.txt (`shasum -a 256` output; directories before names are fine).
    #[arg(long, value_name = "FILE")]
    pub sha256sums: Utf8PathBuf,
    /// The tap's formula file, rewritten atomically (`../homebrew-tap/Formula/plasmite.rb`).
    #[arg(long, value_name = "FILE")]
    pub formula: Utf8PathBuf,
    /// Print the updated formula on standard output; write nothing.
    #[arg(long, conflicts_with = "check")]
    pub stdout: bool,
    /// Write nothing; exit 1 when the formula is not already at the release (for CI).
    #[arg(long)]
    pub check: bool,
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
