//! `cargo xtask release ...`: parses arguments, calls release-core, renders the result.
//! Nothing here decides whether a release is ready; the library does.
//!
//! Exit codes: 0 ready, 1 blocked, 3 incomplete, 2 usage or configuration error.

mod bench;
mod blocker;
mod cli;
mod evidence;
mod notices;
mod provenance;
mod qa;
mod render;
mod repo_checks;
mod smoke;
mod verify;

use std::process::ExitCode;

use clap::Parser;

use anyhow::Context as _;
use release_core::{ReleaseTarget, Report, versions};

use crate::cli::{Cli, Command, Common, Release};

fn main() -> ExitCode {
    let cli = Cli::parse();
    let Command::Release { common, command } = cli.command;
    let result = match command {
        Release::Versions(args) => repo_checks::versions(&common, args),
        Release::Changelog(args) => repo_checks::changelog(&common, args),
        Release::Targets(args) => repo_checks::targets(&common, args),
        Release::Qa(args) => qa::qa(&common, args),
        Release::Evidence(args) => evidence::init(&common, args),
        Release::Status(args) => evidence::status(&common, args),
        Release::Blocker(args) => blocker::blocker(&common, args).and_then(|r| finish(&common, r)),
        Release::Bench(args) => bench::bench(&common, args).and_then(|r| finish(&common, r)),
        Release::Notices(args) => notices::notices(&common, args).and_then(|r| finish(&common, r)),
        Release::Smoke(args) => smoke::smoke(&common, args).and_then(|r| finish(&common, r)),
        Release::Provenance(args) => provenance::provenance(&common, args).and_then(|r| finish(&common, r)),
        Release::Verify(args) => verify::verify(&common, args),
        Release::Homebrew(command) => verify::homebrew(&common, command),
    };
    match result {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            render::error(&e);
            ExitCode::from(render::USAGE_ERROR)
        }
    }
}

/// The one place a command's report passes through on its way out: it is appended to the
/// evidence record of its target (for commands without one, the version every surface agrees
/// on), then rendered, and its exit code returned. A report that cannot be recorded is an error.
fn finish(common: &Common, mut report: Report) -> anyhow::Result<u8> {
    let cx = repo_checks::open(common)?;
    if report.target.is_none() {
        report.target = versions::agreed(&cx.repo, &cx.policy)?.map(|t| t.tag());
    }
    if let Some(tag) = &report.target {
        let target = ReleaseTarget::parse(tag)?;
        release_core::evidence::append(&cx.repo, &target, &report, &cx.clock)
            .with_context(|| format!("cannot record the {} report in the evidence of {tag}", report.command))?;
    }
    Ok(render::report(&report, common.json))
}
