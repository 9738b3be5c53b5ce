//! One JSON shape for every command (issue 13): each command's `--json` output validates
//! against docs/schema/report.schema.json, and `--help` and `--json` outputs are pinned by
//! snapshots under tests/snapshots/ (plain files, compared exactly; `UPDATE_SNAPSHOTS=1`
//! rewrites them, docs/testing.md). The help snapshots follow the commands `release --help`
//! lists, so a new command only needs its snapshot files: its help, and a JSON case, which is
//! a file whose first line is the command line ([`json_cases`]).

use std::{collections::BTreeSet, path::PathBuf, process::Command, sync::OnceLock};

use super::schema_subset::Schema;
use release_core::testing::{FakeRegistry, FixtureRepo, PublishedRelease, plasmite_manifest};
use tests::{Run, help_text, parse_help, release, release_with_env, workspace_root, xtask_bin};

/// The schema every `--json` output validates against (with the subset validator of
/// `schema_subset`, which says why it is not the `jsonschema` crate).
fn schema() -> &'static Schema {
    static SCHEMA: OnceLock<Schema> = OnceLock::new();
    SCHEMA.get_or_init(|| {
        let path = workspace_root().join("docs/schema/report.schema.json");
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let schema: serde_json::Value = serde_json::from_str(&text).expect("the schema is JSON");
        Schema::new(schema).unwrap_or_else(|e| panic!("{} cannot be checked: {e}", path.display()))
    })
}

/// Panics, naming every violation, unless `value` follows the schema.
fn assert_valid(what: &str, value: &serde_json::Value) {
    let errors = schema().errors(value);
    assert!(errors.is_empty(), "{what}: --json output does not follow the schema:\n{}\n{value:#}", errors.join("\n"));
}

/// Compares `actual` with the snapshot file `name` under tests/snapshots/, or writes it when
/// `UPDATE_SNAPSHOTS=1`.
fn assert_snapshot(name: &str, actual: &str) {
    let path = snapshots().join(name);
    if std::env::var_os("UPDATE_SNAPSHOTS").is_some_and(|v| v == "1") {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, actual).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_else(|_| {
        panic!(
            "no snapshot {}: write it with `UPDATE_SNAPSHOTS=1 cargo test -p tests --test e2e json_schema::`, then review it\n--- actual\n{actual}",
            path.display()
        )
    });
    if expected != actual {
        let first = expected.lines().zip(actual.lines()).position(|(a, b)| a != b).unwrap_or(0);
        panic!(
            "{} differs from the output (first at line {}); if the change is meant, run with UPDATE_SNAPSHOTS=1 and review the diff\n--- expected\n{expected}\n--- actual\n{actual}",
            path.display(),
            first + 1
        );
    }
}

fn snapshots() -> PathBuf {
    workspace_root().join("tests/snapshots")
}

/// The snapshot files in `dir` (names), to find stale ones.
fn files_in(dir: &str) -> BTreeSet<String> {
    let Ok(entries) = std::fs::read_dir(snapshots().join(dir)) else { return BTreeSet::new() };
    entries.filter_map(|e| Some(e.ok()?.file_name().to_string_lossy().into_owned())).collect()
}

#[test]
fn help_of_every_command_is_pinned() {
    let mut seen = BTreeSet::new();
    let mut todo: Vec<Vec<String>> = vec![Vec::new()];
    while let Some(path) = todo.pop() {
        let text = help_text(&path);
        for name in parse_help(&text).commands {
            todo.push([path.clone(), vec![name]].concat());
        }
        let name = if path.is_empty() { "release.txt".to_string() } else { format!("release-{}.txt", path.join("-")) };
        assert_snapshot(&format!("help/{name}"), &text);
        seen.insert(name);
    }
    assert!(seen.len() >= 10, "too few commands found: {seen:?}");
    // The xtask itself (`cargo xtask --help`), above `release`.
    let out = Command::new(xtask_bin()).arg("--help").env("NO_COLOR", "1").output().expect("xtask runs");
    assert!(out.status.success());
    assert_snapshot("help/xtask.txt", &String::from_utf8(out.stdout).unwrap());
    seen.insert("xtask.txt".to_string());
    let stale: Vec<String> = files_in("help").difference(&seen).cloned().collect();
    assert!(stale.is_empty(), "snapshots of commands that no longer exist: {stale:?}");
}

/// Every string in `value` with what changes between runs replaced: the fixture's folder,
/// local ports, timestamps and commit ids (the fixture's policy names the fake's port, so its
/// commits differ from run to run).
fn normalize(value: &mut serde_json::Value, root: &str) {
    match value {
        serde_json::Value::String(s) => *s = normalize_text(s, root),
        serde_json::Value::Array(items) => items.iter_mut().for_each(|v| normalize(v, root)),
        serde_json::Value::Object(map) => map.values_mut().for_each(|v| normalize(v, root)),
        _ => {}
    }
}

fn normalize_text(text: &str, root: &str) -> String {
    let text = text.replace(root, "<REPO>");
    let text = replace_runs(&text, "127.0.0.1:", |c| c.is_ascii_digit(), "<PORT>");
    let text = replace_commits(&text);
    // 2026-07-28T09:00:00Z, with optional fractions: the shape, not the value.
    let mut out = String::new();
    let mut rest = text.as_str();
    while let Some(at) = rest.find(|c: char| c.is_ascii_digit()) {
        let (before, from) = rest.split_at(at);
        out.push_str(before);
        let stamp = from.len() >= 20 && is_timestamp(&from[..20]);
        if stamp {
            let fraction =
                from[19..].strip_prefix('.').map_or(0, |f| 1 + f.chars().take_while(char::is_ascii_digit).count());
            let end = 19 + fraction;
            if from[end..].starts_with('Z') {
                out.push_str("<TIMESTAMP>");
                rest = &from[end + 1..];
                continue;
            }
        }
        out.push_str(&from[..1]);
        rest = &from[1..];
    }
    out.push_str(rest);
    out
}

fn is_timestamp(s: &str) -> bool {
    let b = s.as_bytes();
    let digits = [0, 1, 2, 3, 5, 6, 8, 9, 11, 12, 14, 15, 17, 18];
    digits.iter().all(|&i| b[i].is_ascii_digit())
        && b[4] == b'-'
        && b[7] == b'-'
        && b[10] == b'T'
        && b[13] == b':'
        && b[16] == b':'
}

/// `text` with every word of exactly 40 lowercase hex digits (a commit id), or the first 12
/// of one as `status` shows it, replaced by `<COMMIT>`. SHA-256 digests (64) stay.
fn replace_commits(text: &str) -> String {
    let mut out = String::new();
    let mut word = String::new();
    let hex = |c: char| c.is_ascii_digit() || ('a'..='f').contains(&c);
    for c in text.chars().chain(std::iter::once('\0')) {
        if hex(c) {
            word.push(c);
            continue;
        }
        let commit = word.len() == 40 || (word.len() == 12 && word.chars().any(|c| c.is_ascii_alphabetic()));
        out.push_str(if commit { "<COMMIT>" } else { &word });
        word.clear();
        if c != '\0' {
            out.push(c);
        }
    }
    out
}

/// `text` with every run of `keep` characters after `marker` replaced by `with`.
fn replace_runs(text: &str, marker: &str, keep: impl Fn(char) -> bool, with: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(at) = rest.find(marker) {
        out.push_str(&rest[..at + marker.len()]);
        let after = &rest[at + marker.len()..];
        let n = after.find(|c: char| !keep(c)).unwrap_or(after.len());
        if n > 0 {
            out.push_str(with);
        }
        rest = &after[n..];
    }
    out.push_str(rest);
    out
}

#[test]
fn normalizing_replaces_ports_timestamps_and_the_fixture_folder() {
    let text = "/tmp/x/a at http://127.0.0.1:40123/p on 2026-07-28T09:00:00Z and 2026-07-28T09:00:00.123Z, 1.2.3";
    assert_eq!(
        normalize_text(text, "/tmp/x"),
        "<REPO>/a at http://127.0.0.1:<PORT>/p on <TIMESTAMP> and <TIMESTAMP>, 1.2.3"
    );
    let commit = "dd95472b8c0a81c48adabbe42d451bc1343dade7";
    let digest = "e5eef70fbf271644cab06f88200d2d956bb6ff1db13349fba88089866cb254cd";
    assert_eq!(
        normalize_text(&format!("at {commit} ({}) sha256 {digest}", &commit[..12]), "/x"),
        format!("at <COMMIT> (<COMMIT>) sha256 {digest}")
    );
}

/// The fixture a JSON case runs in (each its own): plasmite's repository at 0.8.0 (base tag
/// v0.7.2) with its policy's services on a FakeRegistry that has the coherent release, the
/// release's sums file and formula and a broken policy in `scratch/`.
struct World {
    repo: FixtureRepo,
    _fake: FakeRegistry,
}

fn world() -> World {
    let published = PublishedRelease::coherent(&plasmite_manifest(), "0.8.0").unwrap();
    let sums = published.assets.iter().find(|a| a.name == "sha256sums.txt").unwrap().bytes.clone();
    let fake = FakeRegistry::start(published).unwrap();
    let repo = FixtureRepo::plasmite("0.8.0")
        .tags(&["v0.7.2"])
        .append("release/policy.toml", &fake.endpoints_toml())
        .build()
        .unwrap();
    repo.write("scratch/sha256sums.txt", String::from_utf8(sums).unwrap()).unwrap();
    repo.write(
        "scratch/broken-policy.toml",
        "[project]\nname = \"plasmite\"\n\n[[gate]]\nid = \"two words\"\nrun = [\"true\"]\n",
    )
    .unwrap();
    // The formula `homebrew check` reads, whatever order the cases run in.
    let (sums, formula) = (repo.path("scratch/sha256sums.txt"), repo.path("scratch/plasmite.rb"));
    let args = ["homebrew", "render", "v0.8.0", "--sha256sums", sums.as_str(), "--out", formula.as_str()];
    let run = release(repo.root(), &args);
    assert_eq!(run.code, 0, "{}", run.all());
    World { repo, _fake: fake }
}

/// The first line of a JSON snapshot: the command line it pins.
const PROMPT: &str = "$ cargo xtask release ";

/// One JSON case, read from `tests/snapshots/json/<name>.snap`.
struct Case {
    /// The file name.
    name: String,
    /// The leading `$ cargo xtask release ...` lines, as written.
    header: String,
    /// The arguments of each of those lines: the last is the case, the others set it up.
    runs: Vec<Vec<String>>,
}

/// The JSON cases: every `tests/snapshots/json/<name>.snap`. A file starts with one or more
/// command lines (`$ cargo xtask release status v0.8.0`; `{sums}` and `{formula}` stand for
/// the fixture's files); the last is the case, run with `--json` in a fixture of its own, and
/// those before it run first to set it up. The rest of the file is the case's normalized
/// output. A new case is a new file with its command lines; `UPDATE_SNAPSHOTS=1` fills in
/// the rest.
fn json_cases() -> Vec<Case> {
    let mut cases = Vec::new();
    for name in files_in("json") {
        let path = snapshots().join("json").join(&name);
        let text = std::fs::read_to_string(&path).unwrap();
        let lines: Vec<&str> = text.lines().take_while(|l| l.starts_with(PROMPT)).collect();
        assert!(!lines.is_empty(), "{}: the first line must be `{PROMPT}<args>`", path.display());
        let runs = lines.iter().map(|l| l[PROMPT.len()..].split_whitespace().map(str::to_string).collect()).collect();
        cases.push(Case { name, header: lines.join("\n"), runs });
    }
    cases
}

/// Runs `case` in a fixture of its own; its snapshot text, or what went wrong.
fn run_case(case: &Case) -> Result<String, String> {
    let w = world();
    let root = w.repo.root().as_str().to_string();
    let sums = w.repo.path("scratch/sha256sums.txt");
    let formula = w.repo.path("scratch/plasmite.rb");
    let name = &case.name;
    let mut last = None;
    for (i, args) in case.runs.iter().enumerate() {
        let mut args: Vec<String> =
            args.iter().map(|a| a.replace("{sums}", sums.as_str()).replace("{formula}", formula.as_str())).collect();
        let setup = i + 1 < case.runs.len();
        if !setup {
            args.push("--json".to_string());
        }
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let run = release(w.repo.root(), &args);
        if setup && run.code == 2 {
            return Err(format!("{name}: setup `{}` could not run:\n{}", args.join(" "), run.all()));
        }
        last = Some(run);
    }
    let run = last.ok_or_else(|| format!("{name}: no command line"))?;
    let mut value: serde_json::Value = serde_json::from_str(&run.stdout)
        .map_err(|e| format!("{name}: stdout is not one JSON value ({e}):\n{}", run.all()))?;
    let errors = schema().errors(&value);
    if !errors.is_empty() {
        return Err(format!("{name}: --json output does not follow the schema:\n{}\n{value:#}", errors.join("\n")));
    }
    if value.is_object() && value.get("target").is_none() {
        return Err(format!("{name}: no `target` key: {value:#}"));
    }
    normalize(&mut value, &root);
    // What HTTPS trusts is the machine's (SSL_CERT_FILE, the system bundle's path): its shape
    // is pinned, not its value.
    if let Some(trust) = value.pointer_mut("/tls/trust").filter(|t| t.is_string()) {
        *trust = "<TRUST>".into();
    }
    Ok(format!("{}\n{}\n", case.header, serde_json::to_string_pretty(&value).unwrap()))
}

#[test]
fn every_command_json_follows_the_schema_and_its_snapshot() {
    let cases = json_cases();
    // Each case in its own fixture (so adding one changes no other), a few at a time.
    let outputs: Vec<Result<String, String>> = cases
        .chunks(4)
        .flat_map(|chunk| {
            std::thread::scope(|scope| {
                let handles: Vec<_> = chunk.iter().map(|case| scope.spawn(|| run_case(case))).collect();
                handles
                    .into_iter()
                    .map(|h| h.join().unwrap_or_else(|_| Err("the case panicked".into())))
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    for (case, output) in cases.iter().zip(outputs) {
        assert_snapshot(&format!("json/{}", case.name), &output.unwrap_or_else(|e| panic!("{e}")));
    }
    // Every command has its JSON pinned at least once.
    let covered: BTreeSet<String> = cases.iter().filter_map(|c| c.runs.last()).map(|args| command_of(args)).collect();
    let mut missing = Vec::new();
    let mut todo: Vec<Vec<String>> = vec![Vec::new()];
    while let Some(path) = todo.pop() {
        let subcommands = parse_help(&help_text(&path)).commands;
        if subcommands.is_empty() && !covered.contains(&path.join(" ")) {
            missing.push(path.join(" "));
        }
        todo.extend(subcommands.into_iter().map(|name| [path.clone(), vec![name]].concat()));
    }
    assert!(
        missing.is_empty(),
        "no JSON snapshot runs {missing:?}: add tests/snapshots/json/<case>.snap whose first line is `{PROMPT}<command> <args>`, then run with UPDATE_SNAPSHOTS=1"
    );
}

/// The command a case's arguments run (`qa`, `homebrew render`): the leading lower-case words.
fn command_of(args: &[String]) -> String {
    let words =
        args.iter().take_while(|a| a.chars().all(|c| c.is_ascii_lowercase() || c == '-') && !a.starts_with('-'));
    let words: Vec<&str> = words.map(String::as_str).take(2).collect();
    match words.as_slice() {
        [first, second] if *first == "homebrew" => format!("{first} {second}"),
        [first, ..] => first.to_string(),
        [] => String::new(),
    }
}

#[test]
fn a_config_error_under_json_is_a_json_error_with_file_and_line() {
    let repo = FixtureRepo::plasmite("0.8.0").build().unwrap();
    repo.replace("release/policy.toml", "[project]", "[project]\nnot_a_key = 1").unwrap();
    let run = release(repo.root(), &["versions", "--json"]);
    assert_eq!(run.code, 2, "{}", run.all());
    let value = run.json();
    assert_valid("config error", &value);
    let error = &value["error"];
    assert_eq!((&error["kind"], &error["file"]), (&"config".into(), &"release/policy.toml".into()), "{value:#}");
    assert!(error["line"].as_u64().is_some_and(|l| l > 0), "{value:#}");
    assert_eq!(value["command"], "versions");
    assert_eq!(value["exit_code"], 2);
    assert!(run.stderr.contains("error: release/policy.toml:"), "people still read it on stderr: {}", run.all());
}

#[test]
fn errors_without_json_print_no_json() {
    let repo = FixtureRepo::plasmite("0.8.0").build().unwrap();
    let run: Run = release_with_env(repo.root(), &["qa", "--fail-fst"], &[]);
    assert_eq!(run.code, 2, "{}", run.all());
    assert!(run.stdout.is_empty(), "{}", run.all());
    assert!(run.stderr.contains("a similar argument exists: '--fail-fast'"), "{}", run.all());
}

#[test]
fn the_schema_refuses_the_old_shapes() {
    if std::env::var_os("UPDATE_SNAPSHOTS").is_some() {
        // It reads the snapshots another test is rewriting; it runs on the next plain run.
        eprintln!("the_schema_refuses_the_old_shapes: not run while UPDATE_SNAPSHOTS rewrites its inputs");
        return;
    }
    let read = |name: &str| -> serde_json::Value {
        let text = std::fs::read_to_string(snapshots().join("json").join(name)).unwrap();
        let json: Vec<&str> = text.lines().skip_while(|l| l.starts_with(PROMPT)).collect();
        serde_json::from_str(&json.join("\n")).unwrap()
    };
    let invalid = |what: &str, value: serde_json::Value| {
        assert!(!schema().is_valid(&value), "the schema accepts {what}: {value:#}");
    };
    let mut report = read("versions.snap");
    assert!(schema().is_valid(&report));
    report.as_object_mut().unwrap().remove("target");
    invalid("a report without `target`", report);
    let mut report = read("versions.snap");
    report["findings"][0]["status"] = "PASS".into();
    invalid("an upper-case status", report);
    let mut status = read("status.snap");
    status["push"] = "UpToDate".into();
    invalid("the Debug text of the push state", status);
    let mut status = read("status.snap");
    status["failing_gates"] = serde_json::json!(["FAIL bad: exit 1"]);
    invalid("failing gates as pre-formatted strings", status);
    let mut error = read("error-config.snap");
    error["error"]["kind"] = "oops".into();
    invalid("an unknown error kind", error);
}
