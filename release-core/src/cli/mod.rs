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

use clap::{CommandFactory, FromArgMatches};

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
    let args: Vec<std::ffi::OsString> = args.into_iter().map(Into::into).collect();
    let env = crate::env::Env::from_process();
    let parsed = args::Cli::command().try_get_matches_from(&args).and_then(|m| {
        let cli = args::Cli::from_arg_matches(&m)?;
        Ok((cli, command_name(&m)))
    });
    let (cli, name) = match parsed {
        Ok(parsed) => parsed,
        // Help and version go to stdout with exit 0, as clap prints them.
        Err(e) if e.exit_code() == 0 => e.exit(),
        Err(e) => {
            let text = e.render().to_string();
            let message = match e.kind() {
                // clap shows the help of a command that needs a subcommand: say what is missing.
                clap::error::ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
                    let usage = text.lines().find_map(|l| l.strip_prefix("Usage: ")).unwrap_or("cargo xtask release");
                    format!("a command is required: {usage}")
                }
                _ => clap_message(&text),
            };
            let failure = render::Failure { kind: render::ErrorKind::Usage, message, file: None, line: None };
            render::failure(&failure, &text, None, wants_json(&args), &env);
            // A workflow step that passed a bad flag still gets `verdict=error`.
            github_output::write(&env, &github_output::StepOutputs::default(), USAGE_ERROR);
            return ExitCode::from(USAGE_ERROR);
        }
    };
    let args::Command::Release { mut common, command } = cli.command;
    common.env = env;
    common.paint = render::Paint::for_common(&common);
    render::add_masks(&common.env);
    let code = match dispatch::release(&common, command) {
        Ok(code) => code,
        Err(e) => {
            let kind = if common.opened.get() { render::ErrorKind::Config } else { render::ErrorKind::Usage };
            let failure = render::Failure::from_error(kind, &e);
            render::failure(&failure, &format!("error: {e:#}"), name.as_deref(), common.json, &common.env);
            USAGE_ERROR
        }
    };
    // Once, after the outcome is known: the one place `$GITHUB_OUTPUT` is written.
    github_output::write(&common.env, &common.outputs, code);
    ExitCode::from(code)
}

/// The release command the matches name (`qa`, `homebrew render`).
fn command_name(matches: &clap::ArgMatches) -> Option<String> {
    let (_, release) = matches.subcommand()?;
    let (name, command) = release.subcommand()?;
    Some(match command.subcommand_name() {
        Some(sub) => format!("{name} {sub}"),
        None => name.to_string(),
    })
}

/// Whether a command line clap refused asked for `--json` (before any `--`).
fn wants_json(args: &[std::ffi::OsString]) -> bool {
    args.iter().skip(1).take_while(|a| *a != "--").any(|a| a == "--json")
}

/// clap's error text without its `error: ` prefix, usage block and help hint: the message,
/// with any suggestion (`tip: a similar subcommand exists`).
fn clap_message(text: &str) -> String {
    let text = text.strip_prefix("error: ").unwrap_or(text);
    let kept: Vec<&str> = text
        .lines()
        .take_while(|l| !l.starts_with("Usage:") && !l.starts_with("For more information"))
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    kept.join("\n")
}
