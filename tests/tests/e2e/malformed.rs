//! Bad input gets a clear error and nothing is lost: every case exits 2 with a message naming
//! the file (and the line where there is one), never panics, and leaves the work tree as it was.

use release_core::testing::{FixtureBuilder, FixtureRepo};
use tests::release;

struct Case {
    name: &'static str,
    /// Breaks the fixture.
    setup: fn(FixtureBuilder) -> FixtureBuilder,
    args: &'static [&'static str],
    /// Every one of these must appear in stderr.
    expect: &'static [&'static str],
}

fn policy_with(extra: &'static str) -> fn(FixtureBuilder) -> FixtureBuilder {
    // A fn pointer cannot capture, so each policy case names its own text through this table.
    match extra {
        "syntax" => |b| b.replace("release/policy.toml", "[changelog]", "[changelog"),
        "unknown" => |b| b.replace("release/policy.toml", "[changelog]\n", "[changelog]\nfmt = \"md\"\n"),
        "both" => |b| {
            b.replace(
                "release/policy.toml",
                "field = \"package.version\"\n",
                "field = \"package.version\"\npackage = \"x\"\n",
            )
        },
        "lock-field" => |b| {
            b.replace(
                "release/policy.toml",
                "package = \"plasmite\"\n\n[changelog]",
                "field = \"version\"\n\n[changelog]",
            )
        },
        "yaml" => |b| b.replace("release/policy.toml", "file = \"Cargo.toml\"", "file = \"Cargo.yaml\""),
        "escape" => |b| b.replace("release/policy.toml", "file = \"Cargo.toml\"", "file = \"../Cargo.toml\""),
        "path" => |b| b.replace("release/policy.toml", "field = \"package.version\"", "field = \"package..version\""),
        "dup-gate" => |b| b.replace("release/policy.toml", "id = \"audit\"", "id = \"release-gate\""),
        "empty-run" => |b| b.replace("release/policy.toml", "run = [\"just\", \"release-gate\"]", "run = []"),
        "timeout" => |b| b.replace("release/policy.toml", "timeout = \"90m\"", "timeout = \"90 minutes\""),
        "github" => |b| b.replace("release/policy.toml", "github = \"sandover/plasmite\"", "github = \"plasmite\""),
        "no-project" => |b| b.replace("release/policy.toml", "[project]\nname = \"plasmite\"\n", ""),
        "tracker" => |b| b.replace("release/policy.toml", "tracker = \"ergo\"", "tracker = \"jira\""),
        _ => unreachable!("unknown case {extra}"),
    }
}

fn cases() -> Vec<Case> {
    let p = |name, extra, expect| Case { name, setup: policy_with(extra), args: &["versions"], expect };
    vec![
        p("policy TOML syntax", "syntax", &["release/policy.toml:"]),
        p("policy unknown key", "unknown", &["release/policy.toml:39:1:", "fmt"]),
        p("policy field and package", "both", &["release/policy.toml:10:", "not both"]),
        p("policy field on Cargo.lock", "lock-field", &["release/policy.toml:34:", "Cargo.lock takes"]),
        p("policy unsupported surface file", "yaml", &["release/policy.toml:10:", "Cargo.yaml"]),
        p("policy path escaping the repo", "escape", &["release/policy.toml:10:", "../Cargo.toml"]),
        p("policy bad field path", "path", &["release/policy.toml:10:", "package..version"]),
        p("policy duplicate gate id", "dup-gate", &["release/policy.toml:", "used twice"]),
        p("policy empty gate run", "empty-run", &["release/policy.toml:", "empty `run`"]),
        p("policy bad timeout", "timeout", &["release/policy.toml:", "90 minutes"]),
        p("policy github not owner/repo", "github", &["release/policy.toml:6:", "owner/repo"]),
        p("policy without [project]", "no-project", &["release/policy.toml", "project"]),
        p("policy unknown tracker", "tracker", &["release/policy.toml:", "jira"]),
        Case {
            name: "policy file missing",
            setup: |b| b.without("release/policy.toml"),
            args: &["versions"],
            expect: &["release/policy.toml", "cannot read policy"],
        },
        Case {
            name: "package.json syntax",
            setup: |b| b.replace("bindings/node/package.json", "\"license\": \"MIT\"", "\"license\": \"MIT\","),
            args: &["versions"],
            expect: &["bindings/node/package.json:20:", "invalid JSON"],
        },
        Case {
            name: "package-lock.json truncated",
            setup: |b| b.replace("bindings/node/package-lock.json", "  }\n}\n", "  }\n"),
            args: &["versions"],
            expect: &["bindings/node/package-lock.json:", "invalid JSON"],
        },
        Case {
            name: "Cargo.toml syntax",
            setup: |b| b.replace("Cargo.toml", "edition = \"2024\"", "edition = 2024\""),
            args: &["versions"],
            expect: &["Cargo.toml:5:", "invalid TOML"],
        },
        Case {
            name: "pyproject.toml syntax",
            setup: |b| b.replace("bindings/python/pyproject.toml", "[project]", "[project"),
            args: &["versions"],
            expect: &["bindings/python/pyproject.toml:5:", "invalid TOML"],
        },
        Case {
            name: "Cargo.lock syntax",
            setup: |b| b.replace("Cargo.lock", "version = 4", "version = = 4"),
            args: &["versions"],
            expect: &["Cargo.lock:3:", "invalid TOML"],
        },
        Case {
            name: "targets manifest syntax",
            setup: |b| b.replace("release/targets.json", "\"schema_version\": 1,", "\"schema_version\": 1,,"),
            args: &["targets"],
            expect: &["release/targets.json:2:", "invalid JSON"],
        },
        Case {
            name: "targets manifest: Homebrew on Windows",
            setup: |b| {
                b.replace(
                    "release/targets.json",
                    "\"github_sdk\": null,\n        \"homebrew\": null",
                    "\"github_sdk\": null,\n        \"homebrew\": \"official\"",
                )
            },
            args: &["targets"],
            expect: &["release/targets.json", "targets[3] (x86_64-pc-windows-msvc): channels.homebrew"],
        },
        Case {
            name: "targets manifest unknown key",
            setup: |b| {
                b.replace(
                    "release/targets.json",
                    "\"runner\": \"ubuntu-latest\",",
                    "\"runner\": \"ubuntu-latest\", \"arch\": \"x64\",",
                )
            },
            args: &["targets"],
            expect: &["release/targets.json", "targets[0] (x86_64-unknown-linux-gnu): unknown key `arch`"],
        },
        Case {
            name: "targets unknown channel",
            setup: |b| b,
            args: &["targets", "--channel", "brew"],
            expect: &["unknown channel `brew`"],
        },
        Case {
            name: "targets unknown field",
            setup: |b| b,
            args: &["targets", "--field", "arch"],
            expect: &["unknown field `arch`"],
        },
        Case {
            name: "targets unknown rust target",
            setup: |b| b,
            args: &["targets", "--rust-target", "riscv64gc-unknown-linux-gnu"],
            expect: &["riscv64gc-unknown-linux-gnu"],
        },
        Case {
            name: "changelog heading without date",
            setup: |b| b.replace("CHANGELOG.md", "## [0.7.2] - 2026-06-30", "## [0.7.2]"),
            args: &["changelog", "v0.8.0"],
            expect: &["CHANGELOG.md:15:", "YYYY-MM-DD"],
        },
        Case {
            name: "changelog impossible date",
            setup: |b| b.replace("CHANGELOG.md", "2026-06-30", "2026-06-31"),
            args: &["changelog", "v0.8.0"],
            expect: &["CHANGELOG.md:15:", "2026-06-31"],
        },
        Case {
            name: "changelog duplicate section",
            setup: |b| b.replace("CHANGELOG.md", "## [0.7.2] - 2026-06-30", "## [0.8.0] - 2026-06-30"),
            args: &["changelog", "v0.8.0"],
            expect: &["CHANGELOG.md:15:", "repeats the section at line 7"],
        },
        Case {
            name: "changelog version with v",
            setup: |b| b.replace("CHANGELOG.md", "## [0.7.2]", "## [v0.7.2]"),
            args: &["changelog", "v0.8.0", "--notes"],
            expect: &["CHANGELOG.md:15:", "without `v`"],
        },
        Case {
            name: "version string: four parts",
            setup: |b| b,
            args: &["versions", "--set", "1.2.3.4"],
            expect: &["1.2.3.4"],
        },
        Case {
            name: "version string: leading zero",
            setup: |b| b,
            args: &["changelog", "v01.0.0"],
            expect: &["v01.0.0"],
        },
        Case { name: "version string: qa target", setup: |b| b, args: &["qa", "0.8"], expect: &["0.8"] },
        Case {
            name: "finalize with an impossible date",
            setup: |b| b,
            args: &["changelog", "v0.9.0", "--finalize", "--date", "2026-02-30"],
            expect: &["2026-02-30"],
        },
        Case { name: "unknown flag", setup: |b| b, args: &["versions", "--frobnicate"], expect: &["--frobnicate"] },
        Case { name: "unknown command", setup: |b| b, args: &["publish"], expect: &["publish"] },
        Case {
            name: "bad tier",
            setup: |b| b,
            args: &["targets", "--channel", "npm", "--tier", "gold"],
            expect: &["gold"],
        },
        Case {
            name: "conflicting flags",
            setup: |b| b,
            args: &["changelog", "v0.9.0", "--finalize", "--notes"],
            expect: &["--notes"],
        },
    ]
}

#[test]
fn every_malformed_input_exits_2_naming_the_file_and_writes_nothing() {
    let cases = cases();
    assert!(cases.len() >= 25, "the issue asks for at least 25 cases");
    let mut failures = Vec::new();
    for case in cases {
        let repo = (case.setup)(FixtureRepo::plasmite("0.8.0")).build().unwrap();
        let run = release(repo.root(), case.args);
        let status = repo.git(&["status", "--porcelain"]).unwrap();
        let ok = run.code == 2
            && case.expect.iter().all(|e| run.stderr.contains(e))
            && !run.stderr.contains("panicked")
            && status.is_empty();
        if !ok {
            failures.push(format!("{}:\n{}\ngit status: {status:?}", case.name, run.all()));
        }
    }
    assert!(failures.is_empty(), "{} cases failed:\n\n{}", failures.len(), failures.join("\n\n"));
}
