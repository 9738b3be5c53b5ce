//! `cargo xtask release ...`: parses arguments, calls release-core, renders the result.
//! Nothing here decides whether a release is ready; the library does.
//!
//! Exit codes: 0 ready, 1 blocked, 3 incomplete, 2 usage or configuration error.

mod cli;
mod render;
mod repo_checks;
mod verify;

use std::process::ExitCode;

use clap::Parser;

use crate::cli::{Cli, Command, Release};

fn main() -> ExitCode {
    let cli = Cli::parse();
    let Command::Release { common, command } = cli.command;
    let result = match command {
        Release::Versions(args) => repo_checks::versions(&common, args),
        Release::Changelog(args) => repo_checks::changelog(&common, args),
        Release::Targets(args) => repo_checks::targets(&common, args),
        Release::Qa(args) => repo_checks::qa(&common, args),
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
