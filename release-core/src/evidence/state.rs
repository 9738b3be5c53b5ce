//! The release state, derived from the record rather than trusted from its last entry
//! (design principle 6): for every required check (each QA gate of the catalogue, each
//! verify channel the policy has, provenance) its latest result **at the release commit**.
//!
//! The release commit is the local tag's commit once the tag exists, else HEAD. An entry
//! counts only for the commit it recorded; an entry without one (written by an older tool)
//! counts for none. A subset run (`--only`, `--channels`) updates only the checks it ran: a
//! gate reported "not selected" or "not run" has no result in that entry. A waiver is a
//! result of the entry it was given in, so it too holds only for that commit.

use serde::Serialize;

use super::{Entry, LiveState, Record};
use crate::report::{Finding, Outcome};

/// Skip reasons `qa` gives a gate it did not run (`--only`, `--fail-fast`): such a finding
/// is not a result of the gate. `gates::run` writes these words.
const NOT_RUN_PREFIXES: [&str; 2] = ["not selected", "not run"];

/// The checks a release needs, by id.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Required {
    /// Every QA gate of the catalogue, in catalogue order.
    pub gates: Vec<String>,
    /// After the tag: `provenance` and `verify.<channel>`
    /// for every channel the policy has (`ci` when it has `[ci]`).
    pub delivery: Vec<String>,
}

/// Where one required check stands at the release commit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "state")]
pub enum Standing {
    /// Its latest result passed (or it was skipped as not relevant).
    Passed,
    /// Its latest result is a waiver given at this commit.
    Waived {
        /// The operator's reason.
        reason: String,
    },
    /// Its latest result failed or was incomplete.
    Failing {
        /// `FAIL` or `INCOMPLETE`.
        word: String,
        /// The finding's detail.
        detail: String,
    },
    /// It never ran at the release commit, but did at another one.
    Stale {
        /// The commit of its latest result.
        commit: String,
    },
    /// It never ran.
    Missing,
}

/// One required check and where it stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CheckState {
    /// The gate id, `verify.<channel>` or `provenance`.
    pub check: String,
    /// Where it stands.
    #[serde(flatten)]
    pub standing: Standing,
}

impl CheckState {
    /// Passed or waived at the release commit.
    pub fn holds(&self) -> bool {
        matches!(self.standing, Standing::Passed | Standing::Waived { .. })
    }

    /// One line for people: `FAIL bad: exit 1`, `missing: audit`, `stale: audit (ran on abc)`.
    pub fn describe(&self) -> String {
        match &self.standing {
            Standing::Passed => format!("PASS {}", self.check),
            Standing::Waived { reason } => format!("WAIVED {}: {reason}", self.check),
            Standing::Failing { word, detail } => format!("{word} {}: {detail}", self.check),
            Standing::Stale { commit } => {
                format!("{} (last ran on {}, not the release commit)", self.check, short(commit))
            }
            Standing::Missing => format!("{} (never ran)", self.check),
        }
    }
}

/// The derived state of a release.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Derived {
    /// The local tag's commit, else HEAD (`None`: git could not say).
    pub release_commit: Option<String>,
    /// Every QA gate.
    pub gates: Vec<CheckState>,
    /// Every check after the tag.
    pub delivery: Vec<CheckState>,
}

impl Derived {
    /// Every QA gate passed or is waived at the release commit.
    pub fn gates_hold(&self) -> bool {
        self.release_commit.is_some() && self.gates.iter().all(CheckState::holds)
    }

    /// Every delivery check passed or is waived at the release commit.
    pub fn delivery_holds(&self) -> bool {
        self.release_commit.is_some() && self.delivery.iter().all(CheckState::holds)
    }
}

/// The first 12 characters of a commit id, for people. By characters, not bytes: the id comes
/// from the record file, which anyone may have edited.
pub(crate) fn short(commit: &str) -> String {
    commit.chars().take(12).collect()
}

/// The release commit `live` names: the local tag's commit, else HEAD.
pub fn release_commit(live: &LiveState) -> Option<String> {
    live.tag_local.clone().or_else(|| live.commit.clone())
}

/// Derives where every required check stands at the release commit.
pub fn derive(record: &Record, live: &LiveState, required: &Required) -> Derived {
    let commit = release_commit(live);
    let stand = |check: &String, command: &str, result: &dyn Fn(&Entry) -> Option<Standing>| {
        let mut at_commit = None;
        let mut elsewhere = None;
        for entry in record.entries.iter().filter(|e| e.report.command == command) {
            let Some(found) = result(entry) else { continue };
            match (&entry.commit, &commit) {
                (Some(ran), Some(now)) if ran == now => at_commit = Some(found),
                (Some(ran), _) => elsewhere = Some(ran.clone()),
                (None, _) => {}
            }
        }
        let standing = match (at_commit, elsewhere) {
            (Some(s), _) => s,
            (None, Some(ran)) => Standing::Stale { commit: ran },
            (None, None) => Standing::Missing,
        };
        CheckState { check: check.clone(), standing }
    };
    let gates = required
        .gates
        .iter()
        .map(|g| {
            stand(g, "qa", &|e: &Entry| {
                let ran: Vec<&Finding> =
                    e.report.findings.iter().filter(|f| f.check.as_str() == g.as_str() && !not_run(f)).collect();
                sum_up(&ran)
            })
        })
        .collect();
    let delivery = required
        .delivery
        .iter()
        .map(|c| match c.as_str() {
            "provenance" => stand(c, "provenance", &|e: &Entry| {
                let all: Vec<&Finding> = e.report.findings.iter().collect();
                sum_up(&all)
            }),
            channel => stand(c, "verify", &|e: &Entry| {
                let prefix = format!("{channel}.");
                let ran: Vec<&Finding> = e
                    .report
                    .findings
                    .iter()
                    .filter(|f| f.check == channel || f.check.as_str().starts_with(&prefix))
                    .filter(|f| !matches!(f.outcome, Outcome::Skipped { .. }))
                    .collect();
                sum_up(&ran)
            }),
        })
        .collect();
    Derived { release_commit: commit, gates, delivery }
}

fn not_run(f: &Finding) -> bool {
    matches!(&f.outcome, Outcome::Skipped { reason } if NOT_RUN_PREFIXES.iter().any(|p| reason.starts_with(p)))
}

/// The worst of a check's findings in one entry; `None` when the entry has none.
fn sum_up(findings: &[&Finding]) -> Option<Standing> {
    let worst = findings.iter().max_by_key(|f| f.outcome.severity())?;
    Some(match &worst.outcome {
        Outcome::Fail | Outcome::Incomplete => {
            Standing::Failing { word: worst.outcome.word().to_string(), detail: worst.detail.clone() }
        }
        Outcome::Waived { reason } => Standing::Waived { reason: reason.clone() },
        Outcome::Pass | Outcome::Skipped { .. } => Standing::Passed,
    })
}
