//! The pure half of the benchmark gate: bench JSON rows, scenario keys, per-side statistics
//! and the status rules of facts §9.4-§9.5. Nothing here touches the disk or runs anything.

use std::collections::BTreeMap;

use anyhow::{Context, bail};
use serde::{Deserialize, Serialize};

/// The fields of one bench result row that the gate reads; other fields are ignored.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Row {
    /// `append`, `follow`, `get_scan`, `multi_writer`...
    pub bench: String,
    /// `fast` | `flush`.
    #[serde(default)]
    pub durability: Option<String>,
    /// Writer processes.
    #[serde(default)]
    pub writers: Option<u64>,
    /// Payload size in bytes.
    #[serde(default)]
    pub payload_bytes: Option<u64>,
    /// Pool size in bytes.
    #[serde(default)]
    pub pool_size: Option<u64>,
    /// Free-text variant of the bench (`core payload reused`).
    #[serde(default)]
    pub notes: Option<String>,
    /// The measurement: milliseconds per message. Required: a row without it is unreadable,
    /// never a zero (a zero would turn into `no_baseline` or a fake improvement).
    pub ms_per_msg: f64,
}

#[derive(Deserialize)]
struct Output {
    results: Vec<Row>,
}

/// Parses the JSON a bench run printed (facts §9.3) into its result rows.
pub fn parse_output(text: &str) -> anyhow::Result<Vec<Row>> {
    let out: Output = serde_json::from_str(text).context("bench output is not the expected JSON")?;
    for row in &out.results {
        if !row.ms_per_msg.is_finite() || row.ms_per_msg < 0.0 {
            bail!("bench row `{}` has ms_per_msg {} (must be a finite number >= 0)", key(row), row.ms_per_msg);
        }
    }
    Ok(out.results)
}

/// The scenario key of a row, exactly as facts §9.4:
/// `append|dur=fast|writers=1|payload=128|pool=1048576|notes=core payload reused`.
pub fn key(row: &Row) -> String {
    format!(
        "{}|dur={}|writers={}|payload={}|pool={}|notes={}",
        row.bench,
        row.durability.as_deref().unwrap_or("n/a"),
        row.writers.unwrap_or(0),
        row.payload_bytes.unwrap_or(0),
        row.pool_size.unwrap_or(0),
        row.notes.as_deref().unwrap_or("n/a"),
    )
}

/// The median: the middle sample for an odd count, the mean of the two middle ones for an
/// even count; `None` for no samples.
pub fn median(samples: &[f64]) -> Option<f64> {
    let mut sorted = samples.to_vec();
    sorted.sort_by(f64::total_cmp);
    let n = sorted.len();
    match n {
        0 => None,
        // n >= 1 here, so n / 2 and n / 2 - 1 (n even, so n >= 2) are in bounds.
        _ if n % 2 == 1 => Some(sorted[n / 2]),
        _ => Some((sorted[n / 2 - 1] + sorted[n / 2]) / 2.0),
    }
}

/// One scenario's samples on one side and their statistics.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Stats {
    /// Median of `samples`.
    pub median: f64,
    /// Smallest sample.
    pub min: f64,
    /// Largest sample.
    pub max: f64,
    /// Every sample, in run order.
    pub samples: Vec<f64>,
}

impl Stats {
    /// Statistics of a non-empty sample list; `None` when empty.
    pub fn of(samples: Vec<f64>) -> Option<Stats> {
        let median = median(&samples)?;
        let min = samples.iter().copied().fold(f64::INFINITY, f64::min);
        let max = samples.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        Some(Stats { median, min, max, samples })
    }
}

/// Groups the rows of every run of one side by scenario key, keeping only the benches given.
/// Returns key -> (bench, stats).
pub fn aggregate<'a>(
    runs: impl IntoIterator<Item = &'a [Row]>,
    benches: &[String],
) -> BTreeMap<String, (String, Stats)> {
    let mut grouped: BTreeMap<String, (String, Vec<f64>)> = BTreeMap::new();
    for rows in runs {
        for row in rows.iter().filter(|r| benches.contains(&r.bench)) {
            grouped.entry(key(row)).or_insert_with(|| (row.bench.clone(), Vec::new())).1.push(row.ms_per_msg);
        }
    }
    grouped.into_iter().filter_map(|(k, (bench, samples))| Some((k, (bench, Stats::of(samples)?)))).collect()
}

/// The comparison thresholds (validated by [`Thresholds::validate`]).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Thresholds {
    /// A slowdown of at least this many percent counts as a regression.
    pub threshold_percent: f64,
    /// Medians below this (ms/msg) on both sides are noise.
    pub noise_floor: f64,
    /// Per bench: its regressions block only when the base median is at least this (ms/msg).
    /// The policy's `[bench] min_blocking_base_ms`; the run adds the policy's floors to these
    /// (an entry here wins). Benches not named have no floor.
    pub min_blocking_base_ms: BTreeMap<String, f64>,
}

impl Default for Thresholds {
    fn default() -> Thresholds {
        Thresholds { threshold_percent: 15.0, noise_floor: 0.0001, min_blocking_base_ms: BTreeMap::new() }
    }
}

impl Thresholds {
    /// Every threshold must be a finite number >= 0 (bug 35: they were never validated).
    pub fn validate(&self) -> anyhow::Result<()> {
        for (name, v) in [("--threshold-percent", self.threshold_percent), ("--noise-floor", self.noise_floor)] {
            if !v.is_finite() || v < 0.0 {
                bail!("{name} must be a finite number >= 0, got {v}");
            }
        }
        for (bench, v) in &self.min_blocking_base_ms {
            if !v.is_finite() || *v < 0.0 {
                bail!("the minimum blocking base of {bench} must be a finite number >= 0, got {v}");
            }
        }
        Ok(())
    }

    /// The floor below which a regression of `bench` does not block, if it has one.
    pub fn min_blocking_base(&self, bench: &str) -> Option<f64> {
        self.min_blocking_base_ms.get(bench).copied()
    }
}

/// The status of one scenario.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// No regression at or above the threshold (improvements included).
    Ok,
    /// Both medians are below the noise floor.
    NoiseFloor,
    /// At or above the threshold, but not proven: the ranges overlap, or the base median is
    /// below the bench's minimum blocking base. Reported loudly; does not block.
    CandidateRegression,
    /// At or above the threshold and every candidate sample is slower than every base sample.
    /// Blocks the release.
    Regressed,
    /// The base median is exactly 0: no percentage can be computed. Incomplete (fail closed).
    NoBaseline,
    /// Measured on the base side only (a removed or renamed scenario).
    BaseOnly,
    /// Measured on the candidate side only (a new or renamed scenario).
    CandidateOnly,
}

impl Status {
    /// The snake_case word used in summaries.
    pub fn word(self) -> &'static str {
        match self {
            Status::Ok => "ok",
            Status::NoiseFloor => "noise_floor",
            Status::CandidateRegression => "candidate_regression",
            Status::Regressed => "regressed",
            Status::NoBaseline => "no_baseline",
            Status::BaseOnly => "base_only",
            Status::CandidateOnly => "candidate_only",
        }
    }
}

/// `(candidate − base) / base × 100`, or `None` when the base median is 0.
pub fn regression_percent(base_median: f64, candidate_median: f64) -> Option<f64> {
    (base_median != 0.0).then(|| (candidate_median - base_median) / base_median * 100.0)
}

/// The §9.5 rules, first match wins, for a scenario measured on both sides.
pub fn status(bench: &str, base: &Stats, candidate: &Stats, t: &Thresholds) -> Status {
    let Some(pct) = regression_percent(base.median, candidate.median) else {
        return Status::NoBaseline;
    };
    let over = pct >= t.threshold_percent;
    if base.median < t.noise_floor && candidate.median < t.noise_floor {
        Status::NoiseFloor
    } else if over && t.min_blocking_base(bench).is_some_and(|floor| base.median < floor) {
        Status::CandidateRegression
    } else if over && candidate.min > base.max {
        Status::Regressed
    } else if over {
        Status::CandidateRegression
    } else {
        Status::Ok
    }
}

/// One scenario of the comparison: measured on both sides, or on one side only.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Comparison {
    /// The bench name.
    pub bench: String,
    /// The scenario key.
    pub scenario_key: String,
    /// Base-side statistics, when measured there.
    pub base: Option<Stats>,
    /// Candidate-side statistics, when measured there.
    pub candidate: Option<Stats>,
    /// The slowdown in percent (negative is faster); `None` when one side is missing or the
    /// base median is 0.
    pub regression_percent: Option<f64>,
    /// The status.
    pub status: Status,
}

/// Compares every scenario of both sides, in key order; one-sided scenarios are kept.
pub fn compare(
    base: &BTreeMap<String, (String, Stats)>,
    candidate: &BTreeMap<String, (String, Stats)>,
    t: &Thresholds,
) -> Vec<Comparison> {
    let mut keys: Vec<&String> = base.keys().chain(candidate.keys()).collect();
    keys.sort();
    keys.dedup();
    keys.into_iter()
        .filter_map(|k| {
            let (b, c) = (base.get(k), candidate.get(k));
            let bench = b.or(c).map(|(bench, _)| bench.clone())?;
            let (status, pct) = match (b, c) {
                (Some((_, b)), Some((_, c))) => (status(&bench, b, c, t), regression_percent(b.median, c.median)),
                (Some(_), None) => (Status::BaseOnly, None),
                (None, _) => (Status::CandidateOnly, None),
            };
            Some(Comparison {
                bench,
                scenario_key: k.clone(),
                base: b.map(|(_, s)| s.clone()),
                candidate: c.map(|(_, s)| s.clone()),
                regression_percent: pct,
                status,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stats(samples: &[f64]) -> Stats {
        Stats::of(samples.to_vec()).unwrap()
    }

    #[test]
    fn key_is_exactly_the_scripts_key() {
        let row: Row = serde_json::from_str(
            r#"{"bench":"append","pool_size":1048576,"payload_bytes":128,"messages":5000,"writers":1,
                "durability":"fast","duration_ms":1.5,"ms_per_msg":0.0003,"notes":"core payload reused",
                "lane":"x","latency_ms":{"p50":1}}"#,
        )
        .unwrap();
        assert_eq!(key(&row), "append|dur=fast|writers=1|payload=128|pool=1048576|notes=core payload reused");
        let bare: Row = serde_json::from_str(r#"{"bench":"get_scan","ms_per_msg":1}"#).unwrap();
        assert_eq!(key(&bare), "get_scan|dur=n/a|writers=0|payload=0|pool=0|notes=n/a");
    }

    #[test]
    fn output_needs_a_finite_measurement() {
        assert!(parse_output(r#"{"name":"p","results":[{"bench":"append","ms_per_msg":0.1}]}"#).is_ok());
        assert!(parse_output(r#"{"results":[{"bench":"append"}]}"#).is_err());
        assert!(parse_output(r#"{"results":[{"bench":"append","ms_per_msg":-1}]}"#).is_err());
        assert!(parse_output("not json").is_err());
    }

    #[test]
    fn medians_odd_and_even() {
        assert_eq!(median(&[]), None);
        assert_eq!(median(&[3.0]), Some(3.0));
        assert_eq!(median(&[3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(&[4.0, 1.0, 3.0, 2.0]), Some(2.5));
        let s = stats(&[0.3, 0.1, 0.2]);
        assert_eq!((s.min, s.median, s.max), (0.1, 0.2, 0.3));
    }

    #[test]
    fn aggregate_keeps_only_policy_benches() {
        let rows = parse_output(
            r#"{"results":[{"bench":"append","ms_per_msg":1},{"bench":"follow","ms_per_msg":9},
                {"bench":"append","ms_per_msg":3}]}"#,
        )
        .unwrap();
        let runs = [rows.as_slice(), rows.as_slice()];
        let agg = aggregate(runs, &["append".to_string()]);
        assert_eq!(agg.len(), 1);
        let (bench, s) = &agg["append|dur=n/a|writers=0|payload=0|pool=0|notes=n/a"];
        assert_eq!(bench, "append");
        assert_eq!(s.samples.len(), 4);
        assert_eq!(s.median, 2.0);
    }

    #[test]
    fn status_rules_in_order() {
        let t = Thresholds { min_blocking_base_ms: [("get_scan".to_string(), 0.2)].into(), ..Thresholds::default() };
        // (bench, base samples, candidate samples, expected)
        let table: &[(&str, &[f64], &[f64], Status)] = &[
            ("append", &[0.0, 0.0, 0.0], &[0.1, 0.1, 0.1], Status::NoBaseline),
            ("append", &[0.00005], &[0.00009], Status::NoiseFloor),
            // Below the floor on one side only: rules go on.
            ("append", &[0.00005], &[0.0002], Status::Regressed),
            ("get_scan", &[0.1, 0.1, 0.1], &[0.5, 0.5, 0.5], Status::CandidateRegression),
            ("get_scan", &[0.3, 0.3, 0.3], &[0.5, 0.5, 0.5], Status::Regressed),
            // The floor is get_scan's only: the same numbers block for a bench without one.
            ("append", &[0.1, 0.1, 0.1], &[0.5, 0.5, 0.5], Status::Regressed),
            ("append", &[1.0, 1.0, 1.1], &[1.2, 1.3, 1.3], Status::Regressed),
            // Overlapping ranges: a candidate, not a proof.
            ("append", &[1.0, 1.0, 1.25], &[1.2, 1.3, 1.3], Status::CandidateRegression),
            ("append", &[1.0], &[1.1], Status::Ok),
            ("append", &[1.0], &[0.5], Status::Ok),
            ("multi_writer", &[2.0, 2.0], &[2.0, 2.0], Status::Ok),
        ];
        for (bench, b, c, want) in table {
            assert_eq!(status(bench, &stats(b), &stats(c), &t), *want, "{bench} {b:?} {c:?}");
        }
    }

    #[test]
    fn no_floor_unless_the_policy_names_the_bench() {
        let none = Thresholds::default();
        assert_eq!(status("get_scan", &stats(&[0.1]), &stats(&[0.5]), &none), Status::Regressed);
        let t = Thresholds { min_blocking_base_ms: [("append".to_string(), 1.0)].into(), ..Thresholds::default() };
        assert_eq!(status("append", &stats(&[0.1]), &stats(&[0.5]), &t), Status::CandidateRegression);
        assert_eq!(status("get_scan", &stats(&[0.1]), &stats(&[0.5]), &t), Status::Regressed);
        let bad = Thresholds { min_blocking_base_ms: [("append".to_string(), f64::INFINITY)].into(), ..t };
        assert!(bad.validate().unwrap_err().to_string().contains("append"));
    }

    #[test]
    fn exactly_at_the_threshold_counts() {
        let t = Thresholds { threshold_percent: 25.0, ..Thresholds::default() };
        assert_eq!(status("append", &stats(&[0.5]), &stats(&[0.625]), &t), Status::Regressed);
        assert_eq!(status("append", &stats(&[0.5]), &stats(&[0.624]), &t), Status::Ok);
    }

    #[test]
    fn one_run_means_any_regression_is_regressed() {
        let t = Thresholds::default();
        assert_eq!(status("append", &stats(&[1.0]), &stats(&[1.2]), &t), Status::Regressed);
    }

    #[test]
    fn one_sided_scenarios_are_kept() {
        let side = |pairs: &[(&str, f64)]| {
            pairs.iter().map(|(k, v)| (k.to_string(), ("append".to_string(), stats(&[*v])))).collect()
        };
        let rows = compare(&side(&[("a", 1.0), ("b", 1.0)]), &side(&[("b", 1.0), ("c", 1.0)]), &Thresholds::default());
        let got: Vec<(&str, Status)> = rows.iter().map(|r| (r.scenario_key.as_str(), r.status)).collect();
        assert_eq!(got, [("a", Status::BaseOnly), ("b", Status::Ok), ("c", Status::CandidateOnly)]);
        assert_eq!(rows[1].regression_percent, Some(0.0));
    }

    #[test]
    fn thresholds_must_be_finite_and_non_negative() {
        assert!(Thresholds::default().validate().is_ok());
        for bad in [f64::NAN, f64::INFINITY, -1.0] {
            let t = Thresholds { noise_floor: bad, ..Thresholds::default() };
            assert!(t.validate().is_err(), "{bad}");
        }
    }
}
