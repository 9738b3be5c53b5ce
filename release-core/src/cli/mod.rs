//! The command line, `cargo xtask release ...` (feature `cli`): parse, run, render, exit code.
//!
//! An adopting repository's `xtask/src/main.rs` is one call:
//!
//! ```no_run
//! fn main() -> std::process::ExitCode {
//!     release_core::cli::main()
//! }
//! ```
//!
//! Exit codes: `0` ready, `1` blocked, `3` incomplete, `2` usage or configuration error.
//! Nothing here decides whether a release is ready; [`crate::commands`] does.

mod args;
mod dispatch;
mod github_output;
mod render;

use std::process::ExitCode;

use clap::Parser;

/// Exit code for usage and configuration errors.
pub const USAGE_ERROR: u8 = 2;

/// Parses this process's arguments, runs the command and returns its exit code.
pub fn main() -> ExitCode {
    run(std::env::args_os())
}

/// Runs the command line `args` (the first is the program name) and returns its exit code.
pub fn run<I, T>(args: I) -> ExitCode
where
    I: IntoIterator<Item = T>,
    T: Into<std::ffi::OsString> + Clone,
{
    let cli = match args::Cli::try_parse_from(args) {
        Ok(cli) => cli,
        // clap prints help and version on stdout with exit 0, usage errors on stderr with 2.
        Err(e) => {
            // A workflow step that passed a bad flag still gets `verdict=error`.
            if e.use_stderr() {
                github_output::write(
                    &crate::env::Env::from_process(),
                    &github_output::StepOutputs::default(),
                    USAGE_ERROR,
                );
            }
            e.exit()
        }
    };
    let args::Command::Release { mut common, command } = cli.command;
    common.env = crate::env::Env::from_process();
    render::add_masks(&common.env);
    let code = match dispatch::release(&common, command) {
        Ok(code) => code,
        Err(e) => {
            render::error(&e, &common.env);
            USAGE_ERROR
        }
    };
    // Once, after the outcome is known: the one place `$GITHUB_OUTPUT` is written.
    github_output::write(&common.env, &common.outputs, code);
    ExitCode::from(code)
}
