//! `cargo xtask release ...`: parses arguments, calls release-core, renders the result.
//! Nothing here decides whether a release is ready; the library does.
//!
//! Exit codes: 0 ready, 1 blocked, 3 incomplete, 2 usage or configuration error.

mod bench;
mod blocker;
mod cli;
mod notices;
mod render;
mod repo_checks;

use std::process::ExitCode;

use clap::Parser;

use release_core::Report;

use crate::cli::{Cli, Command, Common, Release};

fn main() -> ExitCode {
    let cli = Cli::parse();
    let Command::Release { common, command } = cli.command;
    let result = match command {
        Release::Versions(args) => repo_checks::versions(&common, args),
        Release::Changelog(args) => repo_checks::changelog(&common, args),
        Release::Targets(args) => repo_checks::targets(&common, args),
        Release::Qa(args) => repo_checks::qa(&common, args),
        Release::Blocker(args) => blocker::blocker(&common, args),
        Release::Bench(args) => bench::bench(&common, args).map(|r| finish(&common, &r)),
        Release::Notices(args) => notices::notices(&common, args).map(|r| finish(&common, &r)),
    };
    match result {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            render::error(&e);
            ExitCode::from(render::USAGE_ERROR)
        }
    }
}

/// The one place a command's report passes through on its way out: the evidence record is
/// appended here (once it exists), then the report is rendered and its exit code returned.
fn finish(common: &Common, report: &Report) -> u8 {
    render::report(report, common.json)
}
