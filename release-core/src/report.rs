//! The vocabulary every check speaks: [`Outcome`], [`Finding`], [`Report`] and its [`Verdict`].
//!
//! A report is fail-closed: it is ready only when nothing failed, nothing is incomplete and at
//! least one finding passed. An empty report is incomplete, never a pass.

use std::{borrow::Cow, fmt};

use serde::{Deserialize, Serialize};

/// Version of the JSON shape of [`Report`] (and of everything that embeds it). Bump it when a
/// field is removed or changes meaning; adding a field does not bump it.
pub const SCHEMA_VERSION: u32 = 1;

/// How one check ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum Outcome {
    /// The check ran and what it checked is right.
    Pass,
    /// The check ran and found something wrong: the release is blocked.
    Fail,
    /// The check could not be decided (network down, tool missing, response unreadable).
    /// Blocks like a failure, but says "we don't know" rather than "it's wrong".
    Incomplete,
    /// The check does not apply here; the reason says why.
    Skipped {
        /// Why the check does not apply ("no [channel.npm] in the policy").
        reason: String,
    },
    /// An operator chose not to run the check; the reason is theirs and is kept as evidence.
    Waived {
        /// The operator's reason, as given with `--reason`.
        reason: String,
    },
}

impl Outcome {
    /// A skipped outcome with its reason.
    pub fn skipped(reason: impl Into<String>) -> Outcome {
        Outcome::Skipped { reason: reason.into() }
    }

    /// The status word used in human output: `PASS`, `FAIL`, `INCOMPLETE`, `SKIP` or `WAIVED`.
    pub fn word(&self) -> &'static str {
        match self {
            Outcome::Pass => "PASS",
            Outcome::Fail => "FAIL",
            Outcome::Incomplete => "INCOMPLETE",
            Outcome::Skipped { .. } => "SKIP",
            Outcome::Waived { .. } => "WAIVED",
        }
    }

    /// How much an outcome weighs when several sum up one thing (a gate's findings): `Fail`
    /// over `Incomplete` over `Pass` over `Skipped`/`Waived`.
    pub fn severity(&self) -> u8 {
        match self {
            Outcome::Fail => 3,
            Outcome::Incomplete => 2,
            Outcome::Pass => 1,
            Outcome::Skipped { .. } | Outcome::Waived { .. } => 0,
        }
    }

    /// True for outcomes that stop a release: `Fail` and `Incomplete`.
    pub fn blocks(&self) -> bool {
        matches!(self, Outcome::Fail | Outcome::Incomplete)
    }
}

/// Where a finding's claim comes from, so nobody needs `--verbose` to learn why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Evidence {
    /// A file that was read, with the line when one applies (1-based).
    File {
        /// Path relative to the repository root where possible.
        path: String,
        /// 1-based line number.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        line: Option<usize>,
    },
    /// A URL that was asked, with the HTTP status when one came back.
    Url {
        /// The URL, with any credentials removed.
        url: String,
        /// The HTTP status code of the final response.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        status: Option<u16>,
    },
    /// A command that was run, its exit code and the tail of its output.
    Command {
        /// The program and its arguments.
        argv: Vec<String>,
        /// Exit code, when the command ran to completion.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        exit_code: Option<i32>,
        /// The last lines of combined output.
        #[serde(default, skip_serializing_if = "String::is_empty")]
        tail: String,
    },
    /// Anything else worth keeping, as plain text.
    Note {
        /// The text.
        text: String,
    },
}

impl Evidence {
    /// A file, without a line.
    pub fn file(path: impl Into<String>) -> Evidence {
        Evidence::File { path: path.into(), line: None }
    }

    /// A file and a 1-based line.
    pub fn file_line(path: impl Into<String>, line: usize) -> Evidence {
        Evidence::File { path: path.into(), line: Some(line) }
    }

    /// A free-text note.
    pub fn note(text: impl Into<String>) -> Evidence {
        Evidence::Note { text: text.into() }
    }
}

impl fmt::Display for Evidence {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Evidence::File { path, line: Some(line) } => write!(f, "{path}:{line}"),
            Evidence::File { path, line: None } => write!(f, "{path}"),
            Evidence::Url { url, status: Some(status) } => write!(f, "{url} (HTTP {status})"),
            Evidence::Url { url, status: None } => write!(f, "{url}"),
            Evidence::Command { argv, exit_code, .. } => {
                write!(f, "$ {}", argv.join(" "))?;
                match exit_code {
                    Some(code) => write!(f, " (exit {code})"),
                    None => write!(f, " (did not finish)"),
                }
            }
            Evidence::Note { text } => write!(f, "{text}"),
        }
    }
}

/// The stable id of a check (`versions`, `verify.npm.published`, a policy gate's own id). It
/// serializes as the plain string, so the JSON is the same as when ids were strings; the
/// built-in ids are the constants below, so a misspelt id is a compile error, not a silent
/// mismatch between the code that makes a finding and the code that reads it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct CheckId(Cow<'static, str>);

impl CheckId {
    /// `versions`: Every version surface equals the target.
    pub const VERSIONS: CheckId = CheckId(Cow::Borrowed("versions"));
    /// `changelog`: The changelog has a dated section for the target.
    pub const CHANGELOG: CheckId = CheckId(Cow::Borrowed("changelog"));
    /// `targets`: The targets manifest is valid.
    pub const TARGETS: CheckId = CheckId(Cow::Borrowed("targets"));
    /// `toolchain`: The toolchain file and the workflows' pins agree.
    pub const TOOLCHAIN: CheckId = CheckId(Cow::Borrowed("toolchain"));
    /// `clean-tree`: No uncommitted or untracked files.
    pub const CLEAN_TREE: CheckId = CheckId(Cow::Borrowed("clean-tree"));
    /// `head-pushed`: HEAD is on a remote branch.
    pub const HEAD_PUSHED: CheckId = CheckId(Cow::Borrowed("head-pushed"));
    /// `ci-green`: The newest completed CI run on HEAD succeeded.
    pub const CI_GREEN: CheckId = CheckId(Cow::Borrowed("ci-green"));
    /// `blockers`: No open release blockers (the gate).
    pub const BLOCKERS: CheckId = CheckId(Cow::Borrowed("blockers"));
    /// `blocker`: Filing or closing one blocker.
    pub const BLOCKER: CheckId = CheckId(Cow::Borrowed("blocker"));
    /// `notices`: Licence and notice files, in the repository and in archives.
    pub const NOTICES: CheckId = CheckId(Cow::Borrowed("notices"));
    /// `notices.members`: every member `[artifacts.<kind>]` lists is inside each archive.
    pub const NOTICES_MEMBERS: CheckId = CheckId(Cow::Borrowed("notices.members"));
    /// `notices.binstall`: every binary the crate declares is inside each cargo-binstall archive.
    pub const NOTICES_BINSTALL: CheckId = CheckId(Cow::Borrowed("notices.binstall"));
    /// `bench`: The benchmark gate.
    pub const BENCH: CheckId = CheckId(Cow::Borrowed("bench"));
    /// `smoke`: Install smoke, when no channel could run.
    pub const SMOKE: CheckId = CheckId(Cow::Borrowed("smoke"));
    /// `smoke.npm`: Install smoke through npm.
    pub const SMOKE_NPM: CheckId = CheckId(Cow::Borrowed("smoke.npm"));
    /// `smoke.npm.pnpm`: Install smoke through pnpm.
    pub const SMOKE_NPM_PNPM: CheckId = CheckId(Cow::Borrowed("smoke.npm.pnpm"));
    /// `smoke.pypi`: Install smoke through PyPI (uv).
    pub const SMOKE_PYPI: CheckId = CheckId(Cow::Borrowed("smoke.pypi"));
    /// `smoke.crates`: Install smoke through `cargo install`.
    pub const SMOKE_CRATES: CheckId = CheckId(Cow::Borrowed("smoke.crates"));
    /// `smoke.homebrew`: Install smoke through the Homebrew tap.
    pub const SMOKE_HOMEBREW: CheckId = CheckId(Cow::Borrowed("smoke.homebrew"));
    /// `verify.crates`: crates.io: the crate's details.
    pub const VERIFY_CRATES: CheckId = CheckId(Cow::Borrowed("verify.crates"));
    /// `verify.crates.published`: crates.io: the target version is published.
    pub const VERIFY_CRATES_PUBLISHED: CheckId = CheckId(Cow::Borrowed("verify.crates.published"));
    /// `verify.npm`: npm: the package's details.
    pub const VERIFY_NPM: CheckId = CheckId(Cow::Borrowed("verify.npm"));
    /// `verify.npm.published`: npm: the target version is published.
    pub const VERIFY_NPM_PUBLISHED: CheckId = CheckId(Cow::Borrowed("verify.npm.published"));
    /// `verify.pypi`: PyPI: the project's files.
    pub const VERIFY_PYPI: CheckId = CheckId(Cow::Borrowed("verify.pypi"));
    /// `verify.pypi.published`: PyPI: the target version is published.
    pub const VERIFY_PYPI_PUBLISHED: CheckId = CheckId(Cow::Borrowed("verify.pypi.published"));
    /// `verify.github`: GitHub: the release's assets.
    pub const VERIFY_GITHUB: CheckId = CheckId(Cow::Borrowed("verify.github"));
    /// `verify.github.published`: GitHub: the release exists.
    pub const VERIFY_GITHUB_PUBLISHED: CheckId = CheckId(Cow::Borrowed("verify.github.published"));
    /// `verify.homebrew`: Homebrew tap: the formula's urls and checksums.
    pub const VERIFY_HOMEBREW: CheckId = CheckId(Cow::Borrowed("verify.homebrew"));
    /// `verify.homebrew.published`: Homebrew tap: the formula has the target version.
    pub const VERIFY_HOMEBREW_PUBLISHED: CheckId = CheckId(Cow::Borrowed("verify.homebrew.published"));
    /// `verify.ci`: CI on the tag's commit.
    pub const VERIFY_CI: CheckId = CheckId(Cow::Borrowed("verify.ci"));
    /// `provenance`: Build provenance, as a whole.
    pub const PROVENANCE: CheckId = CheckId(Cow::Borrowed("provenance"));
    /// `provenance.run`: Provenance: the build run.
    pub const PROVENANCE_RUN: CheckId = CheckId(Cow::Borrowed("provenance.run"));
    /// `provenance.workflow`: Provenance: the run is of the release workflow.
    pub const PROVENANCE_WORKFLOW: CheckId = CheckId(Cow::Borrowed("provenance.workflow"));
    /// `provenance.conclusion`: Provenance: the run succeeded.
    pub const PROVENANCE_CONCLUSION: CheckId = CheckId(Cow::Borrowed("provenance.conclusion"));
    /// `provenance.artifact`: Provenance: the metadata artifact.
    pub const PROVENANCE_ARTIFACT: CheckId = CheckId(Cow::Borrowed("provenance.artifact"));
    /// `provenance.metadata`: Provenance: the metadata file is readable.
    pub const PROVENANCE_METADATA: CheckId = CheckId(Cow::Borrowed("provenance.metadata"));
    /// `provenance.tag`: Provenance: the metadata's tag is a release target.
    pub const PROVENANCE_TAG: CheckId = CheckId(Cow::Borrowed("provenance.tag"));
    /// `provenance.version`: Provenance: the metadata's version is the tag without `v`.
    pub const PROVENANCE_VERSION: CheckId = CheckId(Cow::Borrowed("provenance.version"));
    /// `provenance.expected-tag`: Provenance: the metadata's tag is the expected one.
    pub const PROVENANCE_EXPECTED_TAG: CheckId = CheckId(Cow::Borrowed("provenance.expected-tag"));
    /// `provenance.source-sha`: Provenance: the metadata's commit is the run's.
    pub const PROVENANCE_SOURCE_SHA: CheckId = CheckId(Cow::Borrowed("provenance.source-sha"));
    /// `provenance.source-run-id`: Provenance: the metadata was written by this run.
    pub const PROVENANCE_SOURCE_RUN_ID: CheckId = CheckId(Cow::Borrowed("provenance.source-run-id"));
    /// `provenance.source-ref`: Provenance: the metadata's ref is the tag's.
    pub const PROVENANCE_SOURCE_REF: CheckId = CheckId(Cow::Borrowed("provenance.source-ref"));
    /// `provenance.tag-commit`: Provenance: the tag points at the commit the build compiled.
    pub const PROVENANCE_TAG_COMMIT: CheckId = CheckId(Cow::Borrowed("provenance.tag-commit"));
    /// `provenance.target-artifacts`: Provenance: the run uploaded every per-target artifact
    /// the targets manifest requires, unexpired.
    pub const PROVENANCE_TARGET_ARTIFACTS: CheckId = CheckId(Cow::Borrowed("provenance.target-artifacts"));
    /// `preflight.token`: The GitHub token can do what the release needs.
    pub const PREFLIGHT_TOKEN: CheckId = CheckId(Cow::Borrowed("preflight.token"));
    /// `preflight.secrets`: The repository has the secrets the publish needs.
    pub const PREFLIGHT_SECRETS: CheckId = CheckId(Cow::Borrowed("preflight.secrets"));
    /// `preflight.pins`: Every workflow tool pin has one value across the workflows.
    pub const PREFLIGHT_PINS: CheckId = CheckId(Cow::Borrowed("preflight.pins"));
    /// `tag`: The release tag was created and pushed (or was already there).
    pub const TAG: CheckId = CheckId(Cow::Borrowed("tag"));
    /// `tag.refused`: Tagging was refused; the detail says why.
    pub const TAG_REFUSED: CheckId = CheckId(Cow::Borrowed("tag.refused"));
    /// `build.run`: The build workflow's run for the tag.
    pub const BUILD_RUN: CheckId = CheckId(Cow::Borrowed("build.run"));
    /// `build.job`: One failed job of a build or publish run.
    pub const BUILD_JOB: CheckId = CheckId(Cow::Borrowed("build.job"));
    /// `publish.run`: The publish workflow's run.
    pub const PUBLISH_RUN: CheckId = CheckId(Cow::Borrowed("publish.run"));
    /// `publish.refused`: A publish was refused before dispatch; the detail says why.
    pub const PUBLISH_REFUSED: CheckId = CheckId(Cow::Borrowed("publish.refused"));
    /// `next`: One step `next` ran, or where it stopped.
    pub const NEXT: CheckId = CheckId(Cow::Borrowed("next"));

    /// An id that is not built in: a policy gate's own id, or one read back from a record.
    pub fn owned(id: impl Into<String>) -> CheckId {
        CheckId(Cow::Owned(id.into()))
    }

    /// The id as written in reports.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for CheckId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl AsRef<str> for CheckId {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

/// A literal id; meant for tests and for reading back, the crate's own ids are the constants.
impl From<&'static str> for CheckId {
    fn from(id: &'static str) -> CheckId {
        CheckId(Cow::Borrowed(id))
    }
}

impl From<&CheckId> for CheckId {
    fn from(id: &CheckId) -> CheckId {
        id.clone()
    }
}

impl PartialEq<str> for CheckId {
    fn eq(&self, other: &str) -> bool {
        self.0 == other
    }
}

impl PartialEq<&str> for CheckId {
    fn eq(&self, other: &&str) -> bool {
        self.0 == *other
    }
}

/// One result of one check about one subject.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Finding {
    /// Stable id of the check that produced it (`versions`, `changelog`, `verify.npm`...).
    pub check: CheckId,
    /// Stable identity of what was checked, for de-duplication across runs and commits:
    /// `<check>:<thing>` (just `<check>` when the subject is the check id). It defaults to the
    /// subject; a finding whose subject carries something that changes between runs (a commit,
    /// a run id) names its thing with [`Finding::keyed`]. Empty in records written before keys.
    #[serde(default)]
    pub key: String,
    /// What was checked (`bindings/node/package.json .version`, `npm plasmite@0.8.0`).
    pub subject: String,
    /// How it ended.
    #[serde(flatten)]
    pub outcome: Outcome,
    /// One sentence a maintainer can act on.
    pub detail: String,
    /// Where the claim comes from.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub evidence: Vec<Evidence>,
}

impl Finding {
    /// A finding with no evidence yet; add some with [`Finding::with`].
    pub fn new(
        check: impl Into<CheckId>,
        subject: impl Into<String>,
        outcome: Outcome,
        detail: impl Into<String>,
    ) -> Finding {
        let (check, subject) = (check.into(), subject.into());
        let key = default_key(&check, &subject);
        Finding { check, key, subject, outcome, detail: detail.into(), evidence: Vec::new() }
    }

    /// The key, or for a finding read from a record written before keys, the one it would get.
    pub fn identity(&self) -> String {
        if self.key.is_empty() { default_key(&self.check, &self.subject) } else { self.key.clone() }
    }

    /// The same finding keyed on `thing` instead of its subject (`<check>:<thing>`), for
    /// subjects that carry what changes between runs, like `HEAD 1a2b3c4d5e6f`.
    pub fn keyed(mut self, thing: &str) -> Finding {
        self.key = format!("{}:{thing}", self.check);
        self
    }

    /// Shorthand for a passing finding.
    pub fn pass(check: impl Into<CheckId>, subject: impl Into<String>, detail: impl Into<String>) -> Finding {
        Finding::new(check, subject, Outcome::Pass, detail)
    }

    /// Shorthand for a failing finding.
    pub fn fail(check: impl Into<CheckId>, subject: impl Into<String>, detail: impl Into<String>) -> Finding {
        Finding::new(check, subject, Outcome::Fail, detail)
    }

    /// Shorthand for an incomplete finding.
    pub fn incomplete(check: impl Into<CheckId>, subject: impl Into<String>, detail: impl Into<String>) -> Finding {
        Finding::new(check, subject, Outcome::Incomplete, detail)
    }

    /// Shorthand for a skipped finding; the reason doubles as the detail.
    pub fn skipped(check: impl Into<CheckId>, subject: impl Into<String>, reason: impl Into<String>) -> Finding {
        let reason = reason.into();
        Finding::new(check, subject, Outcome::skipped(reason.clone()), reason)
    }

    /// Adds one piece of evidence.
    pub fn with(mut self, evidence: Evidence) -> Finding {
        self.evidence.push(evidence);
        self
    }
}

fn default_key(check: &CheckId, subject: &str) -> String {
    if subject == check.as_str() { check.to_string() } else { format!("{check}:{subject}") }
}

/// The overall answer of a report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// Nothing failed, nothing incomplete, something passed, nothing waived.
    Ready,
    /// As `Ready`, but an operator waived at least one check.
    ReadyWithWaivers,
    /// At least one check failed.
    Blocked,
    /// Nothing failed, but something could not be decided, or nothing was checked at all.
    Incomplete,
}

impl Verdict {
    /// The process exit code for this verdict: 0 ready, 1 blocked, 3 incomplete.
    pub fn exit_code(self) -> u8 {
        match self {
            Verdict::Ready | Verdict::ReadyWithWaivers => 0,
            Verdict::Blocked => 1,
            Verdict::Incomplete => 3,
        }
    }

    /// Human wording used in summaries.
    pub fn describe(self) -> &'static str {
        match self {
            Verdict::Ready => "ready",
            Verdict::ReadyWithWaivers => "ready with waivers",
            Verdict::Blocked => "blocked",
            Verdict::Incomplete => "incomplete",
        }
    }
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.describe())
    }
}

/// The fail-closed verdict over a set of findings.
pub fn verdict(findings: &[Finding]) -> Verdict {
    let any = |pred: fn(&Outcome) -> bool| findings.iter().any(|f| pred(&f.outcome));
    if any(|o| matches!(o, Outcome::Fail)) {
        Verdict::Blocked
    } else if any(|o| matches!(o, Outcome::Incomplete)) || !any(|o| matches!(o, Outcome::Pass)) {
        Verdict::Incomplete
    } else if any(|o| matches!(o, Outcome::Waived { .. })) {
        Verdict::ReadyWithWaivers
    } else {
        Verdict::Ready
    }
}

/// What one command found, ready to render or to append to the evidence record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Report {
    /// Shape version of this JSON (`SCHEMA_VERSION`).
    pub schema_version: u32,
    /// The command that produced it (`versions`, `qa`, `verify`...).
    pub command: String,
    /// The release target (`v1.2.3`), when the command has one; `null` in the JSON when it
    /// has none, so every report has the same keys (docs/schema/report.schema.json).
    #[serde(default)]
    pub target: Option<String>,
    /// Every finding, in the order the checks ran.
    pub findings: Vec<Finding>,
    /// The verdict over `findings`; recomputed on construction, stored for readers of the JSON.
    pub verdict: Verdict,
    /// What the command read, for machines (`provenance`: the run and its metadata); absent
    /// for most commands.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub summary: Option<serde_json::Value>,
}

impl Report {
    /// Builds a report and computes its verdict.
    pub fn new(command: impl Into<String>, target: Option<String>, findings: Vec<Finding>) -> Report {
        let verdict = verdict(&findings);
        Report { schema_version: SCHEMA_VERSION, command: command.into(), target, findings, verdict, summary: None }
    }

    /// Counts of findings per status word, in a fixed order, zero counts left out.
    pub fn counts(&self) -> Vec<(&'static str, usize)> {
        ["PASS", "FAIL", "INCOMPLETE", "SKIP", "WAIVED"]
            .into_iter()
            .map(|word| (word, self.findings.iter().filter(|f| f.outcome.word() == word).count()))
            .filter(|(_, n)| *n > 0)
            .collect()
    }

    /// The closing line of a report: `qa v1.2.3: blocked (3 passed, 1 failed)`.
    pub fn verdict_line(&self) -> String {
        let past = |word: &str| match word {
            "PASS" => "passed",
            "FAIL" => "failed",
            "INCOMPLETE" => "incomplete",
            "SKIP" => "skipped",
            _ => "waived",
        };
        let counts: Vec<String> = self.counts().iter().map(|(word, n)| format!("{n} {}", past(word))).collect();
        let counts = if counts.is_empty() { "nothing was checked".to_string() } else { counts.join(", ") };
        let target = self.target.as_deref().map(|t| format!(" {t}")).unwrap_or_default();
        format!("{}{target}: {} ({counts})", self.command, self.verdict)
    }
}

/// For people and for test failures (`assert!(ok, "{report}")`): the verdict line, then one
/// line per finding, `FAIL       check  subject: detail` (the subject left out when it is
/// the check id). Evidence and summaries are in the JSON and the human rendering.
impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.verdict_line())?;
        for finding in &self.findings {
            write!(f, "\n{:<10} {}  ", finding.outcome.word(), finding.check)?;
            if finding.subject != finding.check.as_str() {
                write!(f, "{}: ", finding.subject)?;
            }
            f.write_str(&finding.detail)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f(outcome: Outcome) -> Finding {
        Finding::new("c", "s", outcome, "d")
    }

    #[test]
    fn empty_report_is_incomplete_never_ready() {
        assert_eq!(verdict(&[]), Verdict::Incomplete);
    }

    #[test]
    fn only_skips_is_incomplete() {
        assert_eq!(verdict(&[f(Outcome::skipped("n/a"))]), Verdict::Incomplete);
    }

    #[test]
    fn fail_beats_incomplete_and_pass() {
        let all = [f(Outcome::Pass), f(Outcome::Incomplete), f(Outcome::Fail)];
        assert_eq!(verdict(&all), Verdict::Blocked);
        assert_eq!(Verdict::Blocked.exit_code(), 1);
    }

    #[test]
    fn incomplete_blocks_a_pass() {
        let all = [f(Outcome::Pass), f(Outcome::Incomplete)];
        assert_eq!(verdict(&all), Verdict::Incomplete);
        assert_eq!(Verdict::Incomplete.exit_code(), 3);
    }

    #[test]
    fn waivers_are_said() {
        let all = [f(Outcome::Pass), f(Outcome::Waived { reason: "ok by maintainer".into() })];
        assert_eq!(verdict(&all), Verdict::ReadyWithWaivers);
        assert_eq!(verdict(&[f(Outcome::Waived { reason: "x".into() })]), Verdict::Incomplete);
    }

    #[test]
    fn json_has_schema_version_and_flat_status() {
        let r = Report::new("versions", None, vec![f(Outcome::skipped("why"))]);
        let v = serde_json::to_value(&r).unwrap();
        assert_eq!(v["schema_version"], 1);
        assert_eq!(v["verdict"], "incomplete");
        assert_eq!(v["findings"][0]["status"], "skipped");
        assert_eq!(v["findings"][0]["reason"], "why");
        let back: Report = serde_json::from_value(v).unwrap();
        assert_eq!(back, r);
    }

    #[test]
    fn display_reads_as_a_verdict_then_one_line_per_finding() {
        let r = Report::new(
            "versions",
            Some("v1.2.3".into()),
            vec![
                Finding::pass(CheckId::VERSIONS, "Cargo.toml package.version", "1.2.3"),
                Finding::fail(CheckId::CHANGELOG, "changelog", "no section for 1.2.3"),
            ],
        );
        assert_eq!(
            r.to_string(),
            "versions v1.2.3: blocked (1 passed, 1 failed)\n\
             PASS       versions  Cargo.toml package.version: 1.2.3\n\
             FAIL       changelog  no section for 1.2.3"
        );
        let none = Report::new("targets", None, vec![]);
        assert_eq!(none.to_string(), "targets: incomplete (nothing was checked)");
        assert_eq!(serde_json::to_value(&none).unwrap()["target"], serde_json::Value::Null);
    }

    #[test]
    fn check_ids_serialize_as_the_plain_string() {
        let f = Finding::pass(CheckId::VERIFY_NPM_PUBLISHED, "npm", "ok");
        let v = serde_json::to_value(&f).unwrap();
        assert_eq!(v["check"], "verify.npm.published");
        let back: Finding = serde_json::from_value(v).unwrap();
        assert_eq!(back.check, CheckId::VERIFY_NPM_PUBLISHED);
        assert_eq!(CheckId::owned("release-gate"), "release-gate");
    }
}
