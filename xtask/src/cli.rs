//! The command line, declared with clap. Each command's `--help` says what it proves.

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
    Release {
        #[command(flatten)]
        common: Common,
        #[command(subcommand)]
        command: Release,
    },
}

/// Options every release command takes.
#[derive(Args, Clone)]
pub struct Common {
    /// The repository (any folder inside it) [default: the current directory].
    #[arg(long, global = true, value_name = "DIR")]
    pub repo: Option<Utf8PathBuf>,
    /// The policy file [default: release/policy.toml under the repository root].
    #[arg(long, global = true, value_name = "FILE")]
    pub policy: Option<Utf8PathBuf>,
    /// Print the report as JSON (with `schema_version`) instead of text.
    #[arg(long, global = true)]
    pub json: bool,
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
    /// Run the pre-release checks (versions, changelog, targets manifest) for a target.
    Qa(QaArgs),
    /// Verify a published release on every channel (docs/verify.md).
    ///
    /// For each channel: the exact version is published and intact; if it is the newest
    /// release, it is what users get by default; a pre-release is never the default. Channels
    /// run concurrently. Exit codes: 0 verified, 1 blocked, 3 incomplete, 2 usage.
    Verify(crate::verify::VerifyArgs),
    /// Render the Homebrew formula for a release, or check a formula against a sums file.
    #[command(subcommand)]
    Homebrew(crate::verify::HomebrewCommand),
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
}
