//! `cargo xtask release ...`: the command line of release-core (docs/commands.md).

fn main() -> std::process::ExitCode {
    release_core::cli::main()
}
