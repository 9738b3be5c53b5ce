//! The end-to-end tests: the real `cargo xtask release ...` binary against fixture
//! repositories. One test binary, one module per command or concern, so the library is linked
//! once rather than once per file; the shared helpers are in the `tests` library (`tests/lib.rs`).

mod adoption;
mod architecture;
mod bench;
mod blocker;
mod blocker_github;
mod changelog_targets;
mod cli_conventions;
mod conditional_gates;
mod docs;
mod endpoints_tls;
mod evidence;
mod gate_integrity;
mod github_output;
mod homebrew_update;
mod hostile_content;
mod json_schema;
mod malformed;
mod notices;
mod progress;
mod provenance;
mod qa;
mod registry_semantics;
mod release_flow;
mod release_state;
mod remote;
mod schema_subset;
mod secrets;
mod secrets_output;
mod smoke;
mod verify;
mod verify_faults;
mod versions;
mod workflows;
