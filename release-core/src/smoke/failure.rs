//! What an install failure is, read from the tool's output, so that only a failure a later
//! attempt can fix is retried (docs/smoke.md, "What is retried").
//!
//! - **Transient**: the network, a server error, rate limiting. Retried for the channel's
//!   whole budget.
//! - **Not yet visible**: the registry does not serve this version, or its file, yet (npm
//!   `ETARGET` "No matching version found", cargo "could not find `x` in registry", uv "there is
//!   no version of x==v", a 404 for the version's `.tgz`/`.crate`/`.whl`). Right after a
//!   publish this is index or CDN lag, so it is retried, but only within the propagation
//!   window: no tool says whether a missing version is late or never coming.
//! - **Deterministic**: anything else. The package does not exist at all (a 404 for the
//!   whole package), the build failed, the tool refused its arguments: a retry cannot change
//!   it, so the channel fails at once with the log.
//!
//! The order matters: a build error beats a network word in the same output (cargo prints
//! "spurious network error" warnings before a compile error), and a missing version beats the
//! 404 of the whole package only when the 404 is for the version's file.

use super::exec::Ran;

/// What kind of failure an install was.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// A later attempt may succeed: retried for the whole budget. Holds the evidence word.
    Transient(String),
    /// The registry does not serve the version yet: retried within the propagation window.
    NotYetVisible(String),
    /// A retry cannot change it: fails at once.
    Deterministic(String),
}

/// Build failures: the published package does not build here, on any attempt.
const BUILD: [&str; 6] =
    ["error[E", "could not compile", "failed to compile", "Failed to build", "failed to build", "gyp ERR!"];

/// The whole package is missing: a wrong name or registry, or it was never published.
const NO_PACKAGE: [&str; 6] = [
    "E404",
    "is not in this registry",
    "ERR_PNPM_FETCH_404",
    "not found in the package registry",
    "No available formula",
    "404 Not Found",
];

/// The version (or its file) is not served yet.
const NOT_YET: [&str; 6] = [
    "ETARGET",
    "No matching version found",
    "ERR_PNPM_NO_MATCHING_VERSION",
    "there is no version of",
    "is available and you require",
    "are available:",
];

/// Network and server trouble.
const TRANSIENT: [&str; 20] = [
    "ECONNRESET",
    "ECONNREFUSED",
    "ETIMEDOUT",
    "EAI_AGAIN",
    "ENETUNREACH",
    "socket hang up",
    "network error",
    "spurious network error",
    "Connection refused",
    "Connection reset",
    "connection closed",
    "timed out",
    "Temporary failure in name resolution",
    "Couldn't connect to server",
    "Couldn't resolve host",
    "error sending request",
    "failed to download",
    "Service Unavailable",
    "Bad Gateway",
    "Too Many Requests",
];

/// Classifies a failed install by its output (the tail kept in `ran.output`).
pub fn classify(ran: &Ran) -> Failure {
    if ran.timed_out {
        return Failure::Transient("it was still running when the budget ran out".into());
    }
    let out = ran.output.as_str();
    let found = |words: &[&str]| words.iter().find(|w| out.contains(**w)).map(|w| w.to_string());
    if let Some(word) = found(&BUILD) {
        return Failure::Deterministic(format!("the package does not build (`{word}`)"));
    }
    // A 404 for the version's own file: the index lists it, the file is not served yet.
    let file_404 = out.lines().find(|l| {
        (l.contains("404") || l.contains("Not Found"))
            && [".tgz", ".crate", ".whl", ".tar.gz", "/download"].iter().any(|ext| l.contains(ext))
    });
    if let Some(line) = file_404 {
        return Failure::NotYetVisible(format!("the version's file is not served yet (`{}`)", line.trim()));
    }
    if let Some(word) = found(&NO_PACKAGE) {
        return Failure::Deterministic(format!("the registry has no such package (`{word}`)"));
    }
    let cargo_missing = out.lines().any(|l| l.contains("could not find `") && l.contains("in registry"));
    if cargo_missing {
        return Failure::NotYetVisible(
            "the registry does not list this version (`could not find ... in registry`)".into(),
        );
    }
    if let Some(word) = found(&NOT_YET) {
        return Failure::NotYetVisible(format!("the registry does not list this version (`{word}`)"));
    }
    if let Some(word) = found(&TRANSIENT) {
        return Failure::Transient(format!("a network or server error (`{word}`)"));
    }
    Failure::Deterministic(
        "not a failure a retry fixes (no network, server or missing-version error in its output)".into(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ran(output: &str) -> Ran {
        Ran {
            argv: vec!["tool".into()],
            code: Some(1),
            output: output.into(),
            timed_out: false,
            not_started: None,
            log: None,
        }
    }

    fn kind(output: &str) -> &'static str {
        match classify(&ran(output)) {
            Failure::Transient(_) => "transient",
            Failure::NotYetVisible(_) => "not yet",
            Failure::Deterministic(_) => "deterministic",
        }
    }

    #[test]
    fn failures_are_classified_by_what_the_tools_print() {
        let cases = [
            // npm
            ("npm error code ETARGET\nnpm error notarget No matching version found for plasmite@0.9.0.", "not yet"),
            (
                "npm error code E404\nnpm error 404 Not Found - GET http://r/plasmit - Not found\nnpm error 404  'plasmit@0.9.0' is not in this registry.",
                "deterministic",
            ),
            ("npm error 404 Not Found - GET http://r/plasmite/-/plasmite-0.9.0.tgz - Not found", "not yet"),
            ("npm error code ECONNRESET\nnpm error network aborted", "transient"),
            ("npm error code EAI_AGAIN\nnpm error request to http://r/plasmite failed", "transient"),
            // pnpm
            ("ERR_PNPM_FETCH_404  GET http://r/plasmite: Not Found - 404", "deterministic"),
            ("ERR_PNPM_NO_MATCHING_VERSION  No matching version found for plasmite@0.9.0", "not yet"),
            // cargo
            (
                "    Updating `fake` index\nerror: could not find `plasmite` in registry `fake` with version `=0.9.0`",
                "not yet",
            ),
            (
                "   Compiling plasmite v0.9.0\nerror: expected `;`, found `compile_error`\nerror: could not compile `plasmite` (bin \"plasmite\") due to 1 previous error\nerror: failed to compile `plasmite v0.9.0`",
                "deterministic",
            ),
            (
                "warning: spurious network error (2 tries remaining): [7] Couldn't connect to server\nerror[E0425]: cannot find value `x`",
                "deterministic",
            ),
            (
                "error: failed to download from `http://r/dl/plasmite/0.9.0/download`\n  [7] Couldn't connect to server",
                "transient",
            ),
            (
                "error: failed to download `plasmite v0.9.0`\nCaused by: failed to get 200 response from `http://r/dl/plasmite/plasmite-0.9.0.crate`, got 404",
                "not yet",
            ),
            // uv
            (
                "  × No solution found when resolving dependencies:\n  ╰─▶ Because there is no version of plasmite==0.9.0 and you require plasmite==0.9.0, we can conclude that your requirements are unsatisfiable.",
                "not yet",
            ),
            (
                "  ╰─▶ Because only plasmite<=0.8.0 is available and you require plasmite==0.9.0, we can conclude ...",
                "not yet",
            ),
            (
                "  ╰─▶ Because plasmit was not found in the package registry and you require plasmit==0.9.0, we can conclude ...",
                "deterministic",
            ),
            ("  × Failed to build `plasmite==0.9.0`\n  ├─▶ The build backend returned an error", "deterministic"),
            (
                "error: Request failed after 3 retries\n  Caused by: error sending request for url (http://r/simple/plasmite/)",
                "transient",
            ),
            // anything else is not retried
            ("error: unexpected argument '--frobnicate' found", "deterministic"),
            ("", "deterministic"),
        ];
        for (output, want) in cases {
            assert_eq!(kind(output), want, "{output}");
        }
        let killed = Ran { timed_out: true, ..ran("Compiling ...") };
        assert!(matches!(classify(&killed), Failure::Transient(_)));
    }
}
