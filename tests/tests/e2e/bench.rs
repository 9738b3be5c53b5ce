//! `cargo xtask release bench` end to end: a fixture repository whose "bench program" is a
//! tiny script built by a fixture build script; the test chooses the ms/msg of every run of
//! every side through `bench-data.txt`, which differs between the base tag and HEAD.

use std::{fs, os::unix::fs::PermissionsExt};

use camino::Utf8PathBuf;
use release_core::testing::FixtureRepo;
use serde_json::Value;
use tests::{Run, finding, release};

/// The build: refuses when `fail-build` exists, else writes the bench program into
/// `$CARGO_TARGET_DIR/release/examples/plasmite-bench` with the data baked in.
const BUILD: &str = r#"#!/bin/sh
set -e
echo "target dir: $CARGO_TARGET_DIR"
if [ -f fail-build ]; then
  echo "error[E0425]: cannot find value \`pool\` in this scope" >&2
  exit 101
fi
out="$CARGO_TARGET_DIR/release/examples/plasmite-bench"
mkdir -p "$(dirname "$out")"
{ echo '#!/bin/sh'; printf "DATA='%s'\n" "$(cat bench-data.txt)"; cat bench-body.sh; } > "$out"
chmod 755 "$out"
"#;

/// The program: run n (counted beside the program) prints column n of each data line
/// (`bench writers notes v1 v2 v3`); it leaves a scratch pool dir in its cwd like the real one.
const BODY: &str = r#"n=$(cat "$0.count" 2>/dev/null || echo 0); n=$((n+1)); echo "$n" > "$0.count"
mkdir -p ".scratch/plasmite-bench-$$"
echo "bench table goes to stderr" >&2
echo '{"name":"plasmite","version":"0.8.0","params":{"messages":'"$2"'},"results":['
echo "$DATA" | {
  sep=''
  while read -r bench writers notes v1 v2 v3; do
    [ -z "$bench" ] && continue
    case $n in 1) v=$v1;; 2) v=$v2;; *) v=$v3;; esac
    printf '%s{"bench":"%s","pool_size":1048576,"payload_bytes":128,"messages":%s,"writers":%s,"durability":"fast","duration_ms":1.0,"ms_per_msg":%s,"notes":"%s","lane":"x"}\n' "$sep" "$bench" "$2" "$writers" "$v" "$notes"
    sep=','
  done
}
echo ']}'
"#;

const BASE: &str = "append 1 core-payload-reused 1.0 1.0 1.0
append 1 includes-lite3-encode 2.0 2.0 2.0
multi_writer 2 cross-process-writers 3.0 3.0 3.0
get_scan 1 indexed:mid 0.5 0.5 0.5
follow 1 x 9 9 9
";

const APPEND_KEY: &str = "append|dur=fast|writers=1|payload=128|pool=1048576|notes=core-payload-reused";

/// A plasmite fixture with the tiny bench program, `base` as its data and `extra` files,
/// committed and tagged v0.7.2.
fn tagged_base(base: &str, extra: &[(&str, &str)]) -> FixtureRepo {
    let mut builder = FixtureRepo::plasmite("0.8.0")
        .replace(
            "release/policy.toml",
            r#"build = ["cargo", "build", "--release", "--example", "plasmite-bench"]"#,
            r#"build = ["./build-bench.sh"]"#,
        )
        .file("build-bench.sh", BUILD)
        .file("bench-body.sh", BODY)
        .file("bench-data.txt", base);
    for (path, text) in extra {
        builder = builder.file(path, *text);
    }
    let repo = builder.build().unwrap();
    fs::set_permissions(repo.path("build-bench.sh"), fs::Permissions::from_mode(0o755)).unwrap();
    repo.commit("executable build script").unwrap();
    repo.tag("v0.7.2").unwrap();
    repo
}

/// A plasmite fixture whose base tag v0.7.2 has `base` as data and whose HEAD has `candidate`.
fn bench_repo(base: &str, candidate: &str) -> FixtureRepo {
    let repo = tagged_base(base, &[]);
    repo.write("bench-data.txt", candidate).unwrap();
    repo.commit("candidate").unwrap();
    repo
}

fn bench(repo: &FixtureRepo, extra: &[&str]) -> Run {
    let mut args = vec!["bench", "--base-tag", "v0.7.2", "--runs", "3", "--messages", "10", "--json"];
    args.extend_from_slice(extra);
    release(repo.root(), &args)
}

fn out_dir(repo: &FixtureRepo) -> Utf8PathBuf {
    let parent = repo.path(".scratch/release");
    let dirs: Vec<_> = fs::read_dir(&parent)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.file_name().unwrap().to_string_lossy().starts_with("bench-"))
        .collect();
    assert_eq!(dirs.len(), 1, "{dirs:?}");
    Utf8PathBuf::from_path_buf(dirs[0].clone()).unwrap()
}

fn summary(repo: &FixtureRepo) -> Value {
    serde_json::from_str(&fs::read_to_string(out_dir(repo).join("summary.json")).unwrap()).unwrap()
}

fn status_of(summary: &Value, key: &str) -> String {
    let rows = summary["comparisons"].as_array().unwrap();
    let row = rows.iter().find(|r| r["scenario_key"] == key).unwrap_or_else(|| panic!("no {key}: {summary:#}"));
    row["status"].as_str().unwrap().to_string()
}

/// Only the main work tree is left, and no bench scratch folder anywhere under the repo.
fn assert_clean(repo: &FixtureRepo) {
    let list = repo.git(&["worktree", "list", "--porcelain"]).unwrap();
    assert_eq!(list.matches("worktree ").count(), 1, "{list}");
    let mut stack = vec![repo.root().as_std_path().to_path_buf()];
    while let Some(dir) = stack.pop() {
        for e in fs::read_dir(&dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                let name = p.file_name().unwrap().to_string_lossy().into_owned();
                assert!(!name.starts_with("plasmite-bench-"), "bench scratch left behind: {}", p.display());
                assert!(!name.starts_with("work-"), "run cwd left behind: {}", p.display());
                if name != ".git" {
                    stack.push(p);
                }
            }
        }
    }
}

#[test]
fn no_regression_passes_and_keeps_everything_it_promised() {
    let repo = bench_repo(BASE, BASE);
    let run = bench(&repo, &[]);
    assert_eq!(run.code, 0, "{}", run.all());
    let report = run.json();
    assert_eq!(finding(&report, APPEND_KEY)["status"], "pass");
    // Each build and run is a status line on stderr, under --json too (stdout is the JSON).
    assert!(run.stderr.lines().any(|l| l.starts_with("    Building base v0.7.2 (")), "{}", run.all());
    for i in 1..=3 {
        let line = format!("     Running candidate, run {i}/3 (10 messages)");
        assert!(run.stderr.lines().any(|l| l == line), "{line}: {}", run.all());
    }
    assert_eq!(finding(&report, "bench get_scan")["status"], "pass");
    // follow is not a policy bench: not compared.
    assert!(!run.stdout.contains("follow|"), "{}", run.stdout);

    let out = out_dir(&repo);
    for file in ["summary.json", "summary.md", "plot.svg", "base/plasmite-bench", "candidate/plasmite-bench"] {
        assert!(out.join(file).is_file(), "{file} missing in {out}");
    }
    for i in 1..=3 {
        assert!(out.join(format!("base/run-{i}.json")).is_file());
        assert!(out.join(format!("candidate/run-{i}.json")).is_file());
    }
    let s = summary(&repo);
    assert_eq!(s["comparable_scenarios"], 4);
    assert_eq!(s["runs_per_side"], 3);
    assert_eq!(s["regressions"].as_array().unwrap().len(), 0);
    assert!(s["candidate"].as_str().unwrap().starts_with("HEAD "), "{s:#}");
    let md = fs::read_to_string(out.join("summary.md")).unwrap();
    assert!(md.starts_with("# Local Benchmark Comparison"));
    assert!(md.contains(&format!("| append | `{APPEND_KEY}` | 1.000000 | 1.000000 | 0.00 | ok |")), "{md}");
    // The outputs finding names the folder.
    assert!(finding(&report, "bench outputs")["detail"].as_str().unwrap().contains(".scratch/release/bench-v0.7.2-"));
    assert_clean(&repo);
}

#[test]
fn a_real_regression_blocks() {
    let candidate =
        BASE.replace("append 1 core-payload-reused 1.0 1.0 1.0", "append 1 core-payload-reused 2.0 2.1 2.0");
    let repo = bench_repo(BASE, &candidate);
    let run = bench(&repo, &[]);
    assert_eq!(run.code, 1, "{}", run.all());
    let f = finding(&run.json(), APPEND_KEY).clone();
    assert_eq!(f["status"], "fail");
    assert!(f["detail"].as_str().unwrap().starts_with("regressed"), "{f:#}");
    let s = summary(&repo);
    assert_eq!(status_of(&s, APPEND_KEY), "regressed");
    assert_eq!(s["regressions"][0]["scenario_key"], APPEND_KEY);
    assert_eq!(s["regressions"][0]["regression_percent"], 100.0);
    // The report is kept in the evidence record of the version the surfaces agree on.
    let record = tests::evidence_json(repo.root(), "v0.8.0");
    let entry = record["entries"].as_array().unwrap().iter().find(|e| e["report"]["command"] == "bench").unwrap();
    assert_eq!(entry["report"]["verdict"], "blocked");
    // Human output says so too.
    let human = release(repo.root(), &["bench", "--base-tag", "v0.7.2", "--runs", "1", "--messages", "10"]);
    assert_eq!(human.code, 1, "{}", human.all());
    assert!(human.stdout.lines().any(|l| l.starts_with("FAIL") && l.contains(APPEND_KEY)), "{}", human.stdout);
    assert!(human.stdout.trim_end().ends_with(")"), "{}", human.stdout);
}

#[test]
fn overlapping_ranges_are_a_loud_candidate_regression_that_does_not_block() {
    let base = BASE.replace("core-payload-reused 1.0 1.0 1.0", "core-payload-reused 1.0 1.0 1.3");
    let candidate = BASE.replace("core-payload-reused 1.0 1.0 1.0", "core-payload-reused 1.25 1.2 1.25");
    let repo = bench_repo(&base, &candidate);
    let run = bench(&repo, &[]);
    assert_eq!(run.code, 0, "{}", run.all());
    let f = finding(&run.json(), APPEND_KEY).clone();
    assert_eq!(f["status"], "pass");
    assert!(f["detail"].as_str().unwrap().starts_with("WARNING candidate_regression"), "{f:#}");
    assert_eq!(status_of(&summary(&repo), APPEND_KEY), "candidate_regression");
}

#[test]
fn below_the_noise_floor_is_noise() {
    let base = BASE.replace("core-payload-reused 1.0 1.0 1.0", "core-payload-reused 0.00001 0.00001 0.00001");
    let candidate = BASE.replace("core-payload-reused 1.0 1.0 1.0", "core-payload-reused 0.00009 0.00009 0.00009");
    let repo = bench_repo(&base, &candidate);
    let run = bench(&repo, &[]);
    assert_eq!(run.code, 0, "{}", run.all());
    assert_eq!(status_of(&summary(&repo), APPEND_KEY), "noise_floor");
    // With a lower floor the same numbers are a proven regression.
    fs::remove_dir_all(repo.path(".scratch")).unwrap();
    let run = bench(&repo, &["--noise-floor", "0.000001"]);
    assert_eq!(run.code, 1, "{}", run.all());
}

#[test]
fn one_sided_scenarios_are_reported_and_a_missing_core_bench_is_incomplete() {
    // Bug 35: a renamed `notes` silently removed scenarios. Here it is reported on both sides.
    let renamed = BASE.replace("includes-lite3-encode", "includes-lite3-encode-v2");
    let repo = bench_repo(BASE, &renamed);
    let run = bench(&repo, &[]);
    assert_eq!(run.code, 0, "{}", run.all());
    let report = run.json();
    let old = "append|dur=fast|writers=1|payload=128|pool=1048576|notes=includes-lite3-encode";
    assert_eq!(finding(&report, old)["status"], "skipped");
    assert!(finding(&report, old)["reason"].as_str().unwrap().starts_with("base_only"));
    assert_eq!(finding(&report, &format!("{old}-v2"))["status"], "skipped");
    let s = summary(&repo);
    assert_eq!(s["base_only"][0], old);
    assert_eq!(status_of(&s, &format!("{old}-v2")), "candidate_only");

    // No get_scan row at all in the candidate: the core bench cannot be compared.
    let no_scan: String = BASE.lines().filter(|l| !l.starts_with("get_scan")).map(|l| format!("{l}\n")).collect();
    let repo = bench_repo(BASE, &no_scan);
    let run = bench(&repo, &[]);
    assert_eq!(run.code, 3, "{}", run.all());
    assert_eq!(finding(&run.json(), "bench get_scan")["status"], "incomplete");
}

#[test]
fn a_zero_base_median_is_incomplete() {
    let base = BASE.replace("core-payload-reused 1.0 1.0 1.0", "core-payload-reused 0 0 0");
    let repo = bench_repo(&base, BASE);
    let run = bench(&repo, &[]);
    assert_eq!(run.code, 3, "{}", run.all());
    assert_eq!(status_of(&summary(&repo), APPEND_KEY), "no_baseline");
}

#[test]
fn a_base_that_does_not_build_is_incomplete_with_the_output_and_no_worktree_left() {
    let repo = tagged_base(BASE, &[("fail-build", "")]);
    fs::remove_file(repo.path("fail-build")).unwrap();
    repo.commit("fixed").unwrap();

    let run = bench(&repo, &[]);
    assert_eq!(run.code, 3, "{}", run.all());
    let f = finding(&run.json(), "base build").clone();
    assert_eq!(f["status"], "incomplete");
    let tail = f["evidence"][0]["tail"].as_str().unwrap();
    assert!(tail.contains("error[E0425]"), "{f:#}");
    assert_eq!(f["evidence"][0]["exit_code"], 101);
    assert!(out_dir(&repo).join("base/build.log").is_file());
    assert_clean(&repo);

    // The same in human form: the tail is printed under the finding.
    let human = release(repo.root(), &["bench", "--base-tag", "v0.7.2"]);
    assert_eq!(human.code, 3, "{}", human.all());
    assert!(human.stdout.contains("| error[E0425]"), "{}", human.stdout);
    assert_clean(&repo);
}

#[test]
fn each_side_has_its_own_target_dir_and_a_dirty_tree_is_said() {
    let repo = bench_repo(BASE, BASE);
    // Uncommitted change: the candidate is the work tree, and the report says so.
    let slower = BASE.replace("core-payload-reused 1.0 1.0 1.0", "core-payload-reused 5.0 5.0 5.0");
    repo.write("bench-data.txt", slower).unwrap();
    let run = bench(&repo, &[]);
    assert_eq!(run.code, 1, "the uncommitted slowdown is what ran: {}", run.all());
    let detail = finding(&run.json(), "bench outputs")["detail"].as_str().unwrap().to_string();
    assert!(detail.contains("candidate is the work tree with uncommitted changes"), "{detail}");
    assert!(summary(&repo)["candidate"].as_str().unwrap().contains("uncommitted changes"));

    // Bug 35: one shared target dir. Each build saw its own.
    let out = out_dir(&repo);
    let dir_of = |side: &str| {
        let log = fs::read_to_string(out.join(side).join("build.log")).unwrap();
        log.lines().find_map(|l| l.strip_prefix("target dir: ")).unwrap().to_string()
    };
    let (base, candidate) = (dir_of("base"), dir_of("candidate"));
    assert_ne!(base, candidate);
    assert_eq!(candidate, repo.path("target").as_str());
    assert!(base.ends_with("/tree/target") && !base.starts_with(repo.root().as_str()), "{base}");
    assert_clean(&repo);
}

#[test]
fn options_and_tags_are_checked_before_anything_runs() {
    let repo = bench_repo(BASE, BASE);
    for bad in [
        &["--runs", "0"][..],
        &["--messages", "0"],
        &["--threshold-percent", "-1"],
        &["--noise-floor", "NaN"],
        &["--runs", "-2"],
    ] {
        let run = bench(&repo, bad);
        assert_eq!(run.code, 2, "{bad:?}: {}", run.all());
    }
    let run = release(repo.root(), &["bench", "--base-tag", "v0.6.0"]);
    assert_eq!(run.code, 2, "{}", run.all());
    assert!(run.stderr.contains("git fetch --tags"), "{}", run.all());
    assert!(!repo.path(".scratch").exists(), "nothing is written for a usage error");
}

#[test]
fn a_candidate_that_does_not_build_fails_and_leaves_no_worktree() {
    let repo = bench_repo(BASE, BASE);
    repo.write("fail-build", "").unwrap();
    repo.commit("breaks the build").unwrap();
    let run = bench(&repo, &[]);
    assert_eq!(run.code, 1, "{}", run.all());
    let f = finding(&run.json(), "candidate build").clone();
    assert_eq!(f["status"], "fail");
    assert!(f["evidence"][0]["tail"].as_str().unwrap().contains("error[E0425]"), "{f:#}");
    assert_clean(&repo);
}

#[test]
fn unreadable_bench_output_is_incomplete() {
    let repo = bench_repo(BASE, "append 1 core-payload-reused oops oops oops\n");
    let run = bench(&repo, &[]);
    assert_eq!(run.code, 3, "{}", run.all());
    let f = finding(&run.json(), "candidate run 1").clone();
    assert_eq!(f["status"], "incomplete");
    assert!(f["detail"].as_str().unwrap().contains("unreadable bench output"), "{f:#}");
    assert_clean(&repo);
}
