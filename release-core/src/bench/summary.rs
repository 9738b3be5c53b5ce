//! What the gate says about a comparison: findings, `summary.json`, `summary.md` and
//! `plot.svg`. Pure: text in, text out.

use std::fmt::Write as _;

use serde_json::{Map, Value, json};

use super::stats::{Comparison, Stats, Status, Thresholds};
use crate::{report::CheckId, report::Evidence, report::Finding, report::Outcome};

/// The check id of every bench finding.
pub const CHECK: CheckId = CheckId::BENCH;

/// What was compared, for the summaries.
#[derive(Debug, Clone)]
pub struct Params<'a> {
    /// The base tag.
    pub base_tag: &'a str,
    /// What the candidate is (a commit, or the work tree with uncommitted changes).
    pub candidate: &'a str,
    /// Runs per side.
    pub runs: u32,
    /// `--messages`.
    pub messages: u64,
    /// The thresholds.
    pub thresholds: Thresholds,
}

fn ms(v: f64) -> String {
    format!("{v:.6}")
}

fn pct(p: Option<f64>) -> String {
    p.map_or_else(|| "n/a".to_string(), |p| format!("{p:+.1}%"))
}

fn samples_note(c: &Comparison) -> Evidence {
    let list = |s: &Option<Stats>| match s {
        Some(s) => s.samples.iter().map(|v| ms(*v)).collect::<Vec<_>>().join(", "),
        None => "not measured".to_string(),
    };
    Evidence::note(format!("ms/msg samples: base [{}]; candidate [{}]", list(&c.base), list(&c.candidate)))
}

/// One finding per scenario. Only `regressed` fails; `no_baseline` is incomplete (no
/// percentage can be computed, so nothing is proven either way); one-sided scenarios are
/// skipped with the reason; a `candidate_regression` passes with a loud warning.
pub fn scenario_finding(c: &Comparison, t: &Thresholds) -> Finding {
    let medians = match (&c.base, &c.candidate) {
        (Some(b), Some(cand)) => format!(
            "median {} -> {} ms/msg ({}; base range {}..{}, candidate range {}..{})",
            ms(b.median),
            ms(cand.median),
            pct(c.regression_percent),
            ms(b.min),
            ms(b.max),
            ms(cand.min),
            ms(cand.max)
        ),
        _ => String::new(),
    };
    let threshold = t.threshold_percent;
    let (outcome, detail) = match c.status {
        Status::Ok => (Outcome::Pass, format!("ok: {medians}")),
        Status::NoiseFloor => {
            (Outcome::Pass, format!("noise_floor: both medians below {} ms/msg: {medians}", ms(t.noise_floor)))
        }
        Status::CandidateRegression => {
            let floor = t.min_blocking_base(&c.bench).filter(|f| c.base.as_ref().is_some_and(|b| b.median < *f));
            let why = match floor {
                Some(floor) => format!(
                    "{} base median below {} ms/msg (the policy's bench.min_blocking_base_ms for it)",
                    c.bench,
                    ms(floor)
                ),
                None => "base and candidate ranges overlap".to_string(),
            };
            (
                Outcome::Pass,
                format!(
                    "WARNING candidate_regression (not blocking): slower by at least {threshold}% but {why}; \
                     re-run with more --runs to confirm: {medians}"
                ),
            )
        }
        Status::Regressed => (
            Outcome::Fail,
            format!(
                "regressed: slower by at least {threshold}% and every candidate run is slower than every base run: {medians}"
            ),
        ),
        Status::NoBaseline => (
            Outcome::Incomplete,
            format!("no_baseline: the base median is 0 ms/msg, so no regression percentage exists: {medians}"),
        ),
        Status::BaseOnly => (
            Outcome::skipped(
                "base_only: measured on the base side only (scenario removed or renamed in the candidate?); not compared",
            ),
            String::new(),
        ),
        Status::CandidateOnly => (
            Outcome::skipped("candidate_only: new or renamed in the candidate; nothing to compare it with"),
            String::new(),
        ),
    };
    let detail = match &outcome {
        Outcome::Skipped { reason } => reason.clone(),
        _ => detail,
    };
    Finding::new(CHECK, &c.scenario_key, outcome, detail).with(samples_note(c))
}

/// One finding per bench of the policy: passes when at least one of its scenarios was measured
/// on both sides, incomplete otherwise (a core bench silently vanishing must not pass).
pub fn coverage_findings(comparisons: &[Comparison], benches: &[String]) -> Vec<Finding> {
    benches
        .iter()
        .map(|bench| {
            let rows: Vec<&Comparison> = comparisons.iter().filter(|c| &c.bench == bench).collect();
            let both = rows.iter().filter(|c| c.base.is_some() && c.candidate.is_some()).count();
            let subject = format!("bench {bench}");
            if both == 0 {
                Finding::incomplete(
                    CHECK,
                    subject,
                    format!(
                        "no `{bench}` scenario was measured on both sides ({} one-sided): the core bench cannot be compared",
                        rows.len()
                    ),
                )
            } else {
                let plural = if both == 1 { "" } else { "s" };
                Finding::pass(CHECK, subject, format!("{both} scenario{plural} compared on both sides"))
            }
        })
        .collect()
}

/// Every finding of a comparison: coverage per bench, then one per scenario.
pub fn findings(comparisons: &[Comparison], benches: &[String], t: &Thresholds) -> Vec<Finding> {
    let mut out = coverage_findings(comparisons, benches);
    out.extend(comparisons.iter().map(|c| scenario_finding(c, t)));
    out
}

fn row_json(c: &Comparison) -> Value {
    let side = |s: &Option<Stats>, f: fn(&Stats) -> f64| s.as_ref().map(f);
    json!({
        "bench": c.bench,
        "scenario_key": c.scenario_key,
        "base_median_ms_per_msg": side(&c.base, |s| s.median),
        "current_median_ms_per_msg": side(&c.candidate, |s| s.median),
        "base_min_ms_per_msg": side(&c.base, |s| s.min),
        "base_max_ms_per_msg": side(&c.base, |s| s.max),
        "current_min_ms_per_msg": side(&c.candidate, |s| s.min),
        "current_max_ms_per_msg": side(&c.candidate, |s| s.max),
        "base_samples": c.base.as_ref().map(|s| &s.samples),
        "current_samples": c.candidate.as_ref().map(|s| &s.samples),
        "regression_percent": c.regression_percent,
        "status": c.status,
    })
}

/// `summary.json`: the facts §9.6 shape (`current_*` is the candidate), with one-sided
/// scenarios kept in `comparisons` (statuses `base_only` / `candidate_only`) and listed again
/// in `base_only` / `candidate_only`.
pub fn summary_json(p: &Params, comparisons: &[Comparison]) -> Value {
    let keys = |status: Status| -> Vec<&str> {
        comparisons.iter().filter(|c| c.status == status).map(|c| c.scenario_key.as_str()).collect()
    };
    let mut doc = Map::new();
    let mut put = |key: &str, value: Value| doc.insert(key.to_string(), value);
    put("base_tag", json!(p.base_tag));
    put("candidate", json!(p.candidate));
    put("runs_per_side", json!(p.runs));
    put("messages", json!(p.messages));
    put("threshold_percent", json!(p.thresholds.threshold_percent));
    put("noise_floor_ms_per_msg", json!(p.thresholds.noise_floor));
    // One `<bench>_min_blocking_base_ms` per floor: for plasmite's `get_scan` this is the
    // script's own `get_scan_min_blocking_base_ms` field (facts §9.6).
    for (bench, floor) in &p.thresholds.min_blocking_base_ms {
        put(&format!("{bench}_min_blocking_base_ms"), json!(floor));
    }
    put(
        "comparable_scenarios",
        json!(comparisons.iter().filter(|c| c.base.is_some() && c.candidate.is_some()).count()),
    );
    put(
        "regressions",
        json!(comparisons.iter().filter(|c| c.status == Status::Regressed).map(row_json).collect::<Vec<_>>()),
    );
    put("base_only", json!(keys(Status::BaseOnly)));
    put("candidate_only", json!(keys(Status::CandidateOnly)));
    put("comparisons", json!(comparisons.iter().map(row_json).collect::<Vec<_>>()));
    Value::Object(doc)
}

/// `summary.md`: parameters and the comparison table.
pub fn summary_md(p: &Params, comparisons: &[Comparison]) -> String {
    let t = &p.thresholds;
    let mut md = String::from("# Local Benchmark Comparison\n\n");
    let _ = writeln!(md, "- Base tag: `{}`", p.base_tag);
    let _ = writeln!(md, "- Candidate: {}", p.candidate);
    let _ = writeln!(md, "- Runs per side: {} (interleaved base, candidate, base, ...)", p.runs);
    let _ = writeln!(md, "- Messages: {}", p.messages);
    let _ = writeln!(md, "- Threshold: {}%", t.threshold_percent);
    let _ = writeln!(md, "- Noise floor: {} ms/msg", t.noise_floor);
    for (bench, floor) in &t.min_blocking_base_ms {
        let _ = writeln!(md, "- {bench} minimum blocking base: {floor} ms/msg");
    }
    md.push_str("\n| Bench | Scenario | Base median ms/msg | Current median ms/msg | Regression % | Status |\n");
    md.push_str("| --- | --- | --- | --- | --- | --- |\n");
    for c in comparisons {
        let m = |s: &Option<Stats>| s.as_ref().map_or_else(|| "n/a".to_string(), |s| ms(s.median));
        let pct = c.regression_percent.map_or_else(|| "n/a".to_string(), |p| format!("{p:.2}"));
        let _ = writeln!(
            md,
            "| {} | `{}` | {} | {} | {} | {} |",
            c.bench,
            c.scenario_key,
            m(&c.base),
            m(&c.candidate),
            pct,
            c.status.word()
        );
    }
    md
}

fn xml_escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

fn status_color(status: Status) -> &'static str {
    match status {
        Status::Regressed => "#c0392b",
        Status::CandidateRegression => "#e67e22",
        Status::NoBaseline | Status::BaseOnly | Status::CandidateOnly => "#8e44ad",
        Status::Ok | Status::NoiseFloor => "#2e86c1",
    }
}

/// `plot.svg`: per scenario, two horizontal bars (base grey, candidate coloured by status)
/// of the median ms/msg, on one linear scale, with the value and status at the bar's end.
pub fn plot_svg(p: &Params, comparisons: &[Comparison]) -> String {
    const CHAR_W: f64 = 7.6; // a 12px monospace glyph, with some slack
    const BAR_W: f64 = 360.0;
    const ROW_H: f64 = 34.0;
    const TOP: f64 = 64.0;
    let label_w = comparisons.iter().map(|c| c.scenario_key.chars().count()).max().unwrap_or(10) as f64 * CHAR_W + 20.0;
    let width = label_w + BAR_W + 280.0;
    let height = TOP + ROW_H * comparisons.len().max(1) as f64 + 20.0;
    let max = comparisons
        .iter()
        .flat_map(|c| [c.base.as_ref(), c.candidate.as_ref()])
        .flatten()
        .map(|s| s.median)
        .fold(0.0_f64, f64::max);
    let scale = |v: f64| if max > 0.0 { v / max * BAR_W } else { 0.0 };
    let mut svg = String::new();
    let _ = writeln!(
        svg,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0}" height="{height:.0}" viewBox="0 0 {width:.0} {height:.0}" font-family="monospace" font-size="12">"#
    );
    let _ = writeln!(svg, r#"<rect width="100%" height="100%" fill="white"/>"#);
    let _ = writeln!(
        svg,
        r#"<text x="10" y="20" font-size="14" font-weight="bold">Median ms/msg: base {} vs candidate ({} runs each, lower is better)</text>"#,
        xml_escape(p.base_tag),
        p.runs
    );
    let _ = writeln!(svg, r##"<rect x="10" y="32" width="12" height="10" fill="#aab7b8"/>"##);
    let _ = writeln!(svg, r#"<text x="28" y="41">base</text>"#);
    let mut x = 80.0;
    for (status, word) in [
        (Status::Ok, "candidate ok"),
        (Status::CandidateRegression, "candidate_regression"),
        (Status::Regressed, "regressed"),
        (Status::BaseOnly, "one-sided / no baseline"),
    ] {
        let _ = writeln!(svg, r#"<rect x="{x}" y="32" width="12" height="10" fill="{}"/>"#, status_color(status));
        let _ = writeln!(svg, r#"<text x="{}" y="41">{word}</text>"#, x + 18.0);
        x += 18.0 + word.len() as f64 * CHAR_W + 16.0;
    }
    if comparisons.is_empty() {
        let _ = writeln!(svg, r#"<text x="10" y="{}">no scenarios were measured</text>"#, TOP + 14.0);
    }
    for (i, c) in comparisons.iter().enumerate() {
        let y = TOP + ROW_H * i as f64;
        if i % 2 == 1 {
            let _ = writeln!(
                svg,
                r##"<rect x="0" y="{:.1}" width="{width:.0}" height="{ROW_H}" fill="#f4f6f7"/>"##,
                y - 4.0
            );
        }
        let _ = writeln!(
            svg,
            r#"<text x="{:.1}" y="{:.1}" text-anchor="end">{}</text>"#,
            label_w - 10.0,
            y + 17.0,
            xml_escape(&c.scenario_key)
        );
        for (j, (stats, color)) in
            [(&c.base, "#aab7b8"), (&c.candidate, status_color(c.status))].into_iter().enumerate()
        {
            let by = y + j as f64 * 13.0;
            match stats {
                Some(s) => {
                    let w = scale(s.median).max(1.0);
                    let _ = writeln!(
                        svg,
                        r#"<rect x="{label_w:.1}" y="{by:.1}" width="{w:.1}" height="11" fill="{color}"/>"#
                    );
                    let _ = writeln!(
                        svg,
                        r#"<text x="{:.1}" y="{:.1}" font-size="10">{}{}</text>"#,
                        label_w + w + 4.0,
                        by + 9.5,
                        ms(s.median),
                        if j == 1 {
                            format!("  {} {}", pct(c.regression_percent), c.status.word())
                        } else {
                            String::new()
                        }
                    );
                }
                None => {
                    let _ = writeln!(
                        svg,
                        r#"<text x="{:.1}" y="{:.1}" font-size="10" fill="{color}">not measured ({})</text>"#,
                        label_w + 4.0,
                        by + 9.5,
                        c.status.word()
                    );
                }
            }
        }
    }
    svg.push_str("</svg>\n");
    svg
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bench::stats::{Stats, compare};

    fn side(pairs: &[(&str, &str, &[f64])]) -> std::collections::BTreeMap<String, (String, Stats)> {
        pairs.iter().map(|(b, k, v)| (k.to_string(), (b.to_string(), Stats::of(v.to_vec()).unwrap()))).collect()
    }

    fn params() -> Params<'static> {
        Params { base_tag: "v0.7.2", candidate: "HEAD abc", runs: 3, messages: 5000, thresholds: Thresholds::default() }
    }

    #[test]
    fn outcomes_per_status() {
        let t = Thresholds::default();
        let base = side(&[("append", "a1", &[1.0]), ("append", "a2", &[1.0]), ("get_scan", "g", &[0.0])]);
        let cand = side(&[("append", "a1", &[2.0]), ("append", "a3", &[1.0]), ("get_scan", "g", &[1.0])]);
        let rows = compare(&base, &cand, &t);
        let f = findings(&rows, &["append".into(), "get_scan".into(), "multi_writer".into()], &t);
        let words: Vec<(&str, &str)> = f.iter().map(|f| (f.subject.as_str(), f.outcome.word())).collect();
        assert_eq!(
            words,
            [
                ("bench append", "PASS"),
                ("bench get_scan", "PASS"),
                ("bench multi_writer", "INCOMPLETE"),
                ("a1", "FAIL"),
                ("a2", "SKIP"),
                ("a3", "SKIP"),
                ("g", "INCOMPLETE"),
            ]
        );
    }

    #[test]
    fn candidate_regression_is_loud_but_passes() {
        let t = Thresholds::default();
        let rows = compare(&side(&[("append", "a", &[1.0, 1.2])]), &side(&[("append", "a", &[1.15, 1.5])]), &t);
        let f = scenario_finding(&rows[0], &t);
        assert_eq!(f.outcome, Outcome::Pass);
        assert!(f.detail.starts_with("WARNING candidate_regression"), "{}", f.detail);
    }

    #[test]
    fn summaries_keep_one_sided_rows_and_escape_the_plot() {
        let t = Thresholds::default();
        let rows = compare(&side(&[("append", "a<&>", &[1.0])]), &side(&[("append", "b", &[1.0])]), &t);
        let json = summary_json(&params(), &rows);
        assert_eq!(json["comparable_scenarios"], 0);
        assert_eq!(json["base_only"][0], "a<&>");
        assert_eq!(json["comparisons"][1]["status"], "candidate_only");
        assert!(json["comparisons"][1]["base_median_ms_per_msg"].is_null());
        let md = summary_md(&params(), &rows);
        assert!(md.contains("| append | `b` | n/a | 1.000000 | n/a | candidate_only |"), "{md}");
        let svg = plot_svg(&params(), &rows);
        assert!(svg.contains("a&lt;&amp;&gt;") && !svg.contains("a<&>"));
        assert!(svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"));
    }
}
