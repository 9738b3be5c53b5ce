//! The end-to-end tests: the real `cargo xtask release ...` binary against fixture
//! repositories. One test binary, one module per command or concern, so the library is linked
//! once rather than once per file; the shared helpers are in the `tests` library (`tests/lib.rs`).

mod architecture;
mod bench;
mod blocker;
mod blocker_github;
mod changelog_targets;
mod docs;
mod evidence;
mod malformed;
mod notices;
mod provenance;
mod qa;
mod remote;
mod smoke;
mod verify;
mod verify_faults;
mod versions;
