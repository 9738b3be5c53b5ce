//! The Markdown view of a record, with the headings and labels of the old report (facts §8.5).

use std::fmt::Write as _;

use super::Record;
use crate::{report::Evidence, report::Finding};

const PENDING: &str = "_pending_";

fn or_pending(v: Option<&str>) -> String {
    v.map_or_else(|| PENDING.to_string(), str::to_owned)
}

fn finding_line(out: &mut String, f: &Finding) {
    let _ = writeln!(out, "  - {} `{}` {}: {}", f.outcome.word(), f.check, f.subject, f.detail);
    for e in &f.evidence {
        let _ = writeln!(out, "    - {e}");
        if let Evidence::Command { tail, .. } = e
            && !tail.is_empty()
        {
            let _ = writeln!(out, "\n      ```text");
            for line in tail.lines() {
                let _ = writeln!(out, "      {}", line.replace("```", "'''"));
            }
            let _ = writeln!(out, "      ```\n");
        }
    }
}

fn latest_findings(out: &mut String, r: &Record, commands: &[&str]) {
    let mut any = false;
    for c in commands {
        if let Some(e) = r.latest(c) {
            any = true;
            let _ = writeln!(out, "- `{c}` at {}: **{}**", e.timestamp, e.report.verdict);
            for f in &e.report.findings {
                finding_line(out, f);
            }
        }
    }
    if !any {
        let _ = writeln!(out, "- {PENDING}");
    }
}

/// Renders the record as Markdown.
pub fn markdown(r: &Record) -> String {
    let mut o = String::new();
    let c = &r.checkpoint;
    let _ = writeln!(o, "# Release Evidence Report: {}\n", r.target);
    let _ =
        writeln!(o, "<!-- Rendered from evidence-{}.json, which is the truth; edits here are lost. -->\n", r.target);
    let _ = writeln!(o, "## Release Context\n");
    let _ = writeln!(o, "- Release target: {}", r.target);
    let _ = writeln!(o, "- Base tag: {}", or_pending(r.base_tag.as_deref()));
    let _ = writeln!(o, "- Mode: {}", r.mode.as_str());
    let _ = writeln!(o, "- Agent: {}", or_pending(r.agent.as_deref()));
    let _ = writeln!(o, "- Initialized (UTC): {}\n", r.initialized);

    let _ = writeln!(o, "## Resume Checkpoint\n");
    let _ = writeln!(o, "- Last updated (UTC): {}", c.updated);
    let _ = writeln!(o, "- Current phase: {}", c.phase);
    let branch = c.branch.as_deref().unwrap_or("(detached)");
    let sha = c.commit.as_deref().map(|s| &s[..s.len().min(12)]);
    let _ = writeln!(o, "- Local branch/SHA: {branch} / {}", or_pending(sha));
    let tag = match (&c.tag_local, c.tag_remote) {
        (None, _) => "not tagged locally".to_string(),
        (Some(t), Some(true)) => format!("tag at {} locally and on origin", &t[..t.len().min(12)]),
        (Some(t), Some(false)) => format!("tag at {} locally, not on origin", &t[..t.len().min(12)]),
        (Some(t), None) => format!("tag at {} locally; origin unknown", &t[..t.len().min(12)]),
    };
    let _ = writeln!(o, "- Remote tag state: {tag}");
    let run_id =
        c.last_run.as_deref().and_then(|u| u.rsplit("/actions/runs/").next()).map(|s| s.split('/').next().unwrap_or(s));
    let _ = writeln!(o, "- Last workflow run ID: {}", or_pending(run_id));
    let _ = writeln!(o, "- Last workflow run URL: {}", or_pending(c.last_run.as_deref()));
    let _ = writeln!(o, "- Blocker epic ID: {}", if r.blockers.is_empty() { PENDING } else { "evidence record" });
    let _ = writeln!(o, "- Open blocker count: {}\n", c.open_blockers);

    let _ = writeln!(o, "## QA Gate Evidence\n");
    latest_findings(&mut o, r, &["qa", "bench", "notices"]);
    let _ = writeln!(o);

    let _ = writeln!(o, "## Release Mechanics\n");
    let versions = r.latest("qa").map(|e| {
        let v: Vec<&Finding> = e.report.findings.iter().filter(|f| f.check == "versions").collect();
        let bad = v.iter().filter(|f| f.outcome.blocks()).count();
        if v.is_empty() {
            "not checked".to_string()
        } else if bad == 0 {
            format!("{} surfaces agree", v.len())
        } else {
            format!("{bad} of {} surfaces wrong", v.len())
        }
    });
    let _ = writeln!(o, "- Version alignment: {}", or_pending(versions.as_deref()));
    let _ = writeln!(o, "- Tag creation: {}", if c.tag_local.is_some() { "done" } else { PENDING });
    let _ = writeln!(
        o,
        "- Tag push: {}",
        match c.tag_remote {
            Some(true) => "done",
            Some(false) => "not pushed",
            None => PENDING,
        }
    );
    let _ = writeln!(o, "- Workflow progression: {}\n", or_pending(c.last_run.as_deref()));

    let _ = writeln!(o, "## Delivery Verification\n");
    latest_findings(&mut o, r, &["verify", "smoke", "provenance"]);
    let _ = writeln!(o);

    let _ = writeln!(o, "## Blockers and Decisions\n");
    if r.blockers.is_empty() && r.decisions.is_empty() {
        let _ = writeln!(o, "- _none_");
    }
    for b in &r.blockers {
        let state = b.closed.as_deref().map_or_else(|| "OPEN".to_string(), |t| format!("resolved {t}"));
        let by = b.filed_by.as_deref().map(|a| format!(" by {a}")).unwrap_or_default();
        let _ = writeln!(o, "- {} [{state}] `{}` {}: {} (filed {}{by})", b.id, b.check, b.title, b.summary, b.opened);
    }
    for d in &r.decisions {
        let check = d.check.as_deref().map(|c| format!(" `{c}`")).unwrap_or_default();
        let _ = writeln!(o, "- {} {}{check}: {}", d.timestamp, d.kind, d.text);
    }
    let _ = writeln!(o, "\n## Command History\n");
    if r.entries.is_empty() {
        let _ = writeln!(o, "- _none_");
    }
    for e in &r.entries {
        let counts: Vec<String> = e.report.counts().iter().map(|(w, n)| format!("{n} {}", w.to_lowercase())).collect();
        let _ = writeln!(o, "- {} `{}`: {} ({})", e.timestamp, e.report.command, e.report.verdict, counts.join(", "));
    }
    o
}
