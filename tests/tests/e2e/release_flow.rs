//! The release itself as commands (issue 12): `preflight`, `tag`, `build`, `publish` and
//! `next`, through the real binary, against a fixture repository with a bare `origin` and the
//! fake GitHub.

use release_core::testing::{
    Dispatch, FakeRegistry, FixtureRepo, Job, PublishedRelease, TokenGrant, WorkflowRun, fake_registry::crate_tarball,
    plasmite_manifest,
};
use tests::{Run, evidence_json, finding, release_with_env, with_status};

/// A token the fake accepts (its value is never shown).
const TOKEN: &str = "ghp_releaseflowtokenvalue0123456789";

/// The two release workflows, with the pins the plasmite policy names.
fn workflows(toolchain: &str) -> Vec<(&'static str, String)> {
    vec![
        (
            ".github/workflows/release.yml",
            format!(
                "name: release\non:\n  push:\n    tags: ['v*']\nenv:\n  RELEASE_RUST_TOOLCHAIN: \"{toolchain}\"\n  CARGO_BINSTALL_VERSION: 1.10.0\n"
            ),
        ),
        (
            ".github/workflows/release-publish.yml",
            "name: release-publish\non: workflow_dispatch\nenv:\n  RELEASE_RUST_TOOLCHAIN: \"1.88.0\"\n".to_string(),
        ),
    ]
}

/// The fake GitHub and registries, serving v0.8.0.
fn fake() -> FakeRegistry {
    FakeRegistry::start(PublishedRelease::coherent(&plasmite_manifest(), "0.8.0").unwrap()).unwrap()
}

/// A plasmite-shaped repository pointed at `fake`, with the workflows and a bare `origin`.
fn repo(fake: &FakeRegistry, toolchain: &str) -> FixtureRepo {
    let mut builder =
        FixtureRepo::plasmite("0.8.0").tags(&["v0.7.2"]).append("release/policy.toml", &fake.endpoints_toml());
    for (path, text) in workflows(toolchain) {
        builder = builder.file(path, text);
    }
    builder.with_remote().build().unwrap()
}

fn run(repo: &FixtureRepo, args: &[&str]) -> Run {
    release_with_env(repo.root(), args, &[("GH_TOKEN", TOKEN)])
}

#[test]
fn preflight_passes_with_the_token_secrets_and_pins_a_release_needs() {
    let fake = fake();
    let repo = repo(&fake, "1.88.0");
    let out = run(&repo, &["preflight", "v0.8.0", "--json", "--live"]);
    assert_eq!(out.code, 0, "{}", out.all());
    assert!(!out.all().contains(TOKEN), "the token never shows");
    let report = out.json();
    assert_eq!(finding(&report, "secret HOMEBREW_TAP_TOKEN (live)")["status"], "pass");
    assert_eq!(finding(&report, "RELEASE_RUST_TOOLCHAIN")["status"], "pass");
    let record = evidence_json(repo.root(), "v0.8.0");
    assert_eq!(record["entries"][0]["report"]["command"], "preflight");
}

#[test]
fn preflight_names_what_is_missing() {
    let fake = fake();
    let repo = repo(&fake, "1.89.0");
    fake.update(|r| {
        r.secrets.retain(|s| s != "PYPI_API_TOKEN");
        r.grant = TokenGrant::default().without("actions");
    });
    let out = run(&repo, &["preflight", "v0.8.0", "--json"]);
    assert_eq!(out.code, 1, "{}", out.all());
    let report = out.json();
    let secret = finding(&report, "secret PYPI_API_TOKEN");
    assert_eq!(secret["status"], "fail", "{report:#}");
    let runs = finding(&report, "token may read workflow runs, jobs, logs and artifacts (actions: read)");
    assert!(runs["detail"].as_str().unwrap().contains("actions=read"), "{runs}");
    let pins = finding(&report, "RELEASE_RUST_TOOLCHAIN");
    assert!(pins["detail"].as_str().unwrap().contains("1.88.0, 1.89.0"), "{pins}");
    assert_eq!(finding(&report, "secret HOMEBREW_TAP_TOKEN (live)")["status"], "pass");

    // A token that may not list secrets: unknown, naming the permission, never a pass.
    fake.update(|r| r.grant = TokenGrant::default().without("secrets"));
    repo.replace(".github/workflows/release.yml", "1.89.0", "1.88.0").unwrap();
    let out = run(&repo, &["preflight", "v0.8.0", "--json"]);
    assert_eq!(out.code, 3, "{}", out.all());
    let secrets = finding(&out.json(), "secrets").clone();
    assert!(secrets["detail"].as_str().unwrap().contains("secrets=read"), "{secrets}");

    // A classic token without `repo`: every need names the scope it lacks.
    fake.update(|r| r.grant = TokenGrant::classic(&["read:org"]));
    let out = run(&repo, &["preflight", "v0.8.0", "--json"]);
    assert_eq!(out.code, 1, "{}", out.all());
    let dispatch = finding(&out.json(), "token may dispatch the build and publish workflows (actions: write)").clone();
    assert!(dispatch["detail"].as_str().unwrap().contains("lack repo"), "{dispatch}");

    // No token at all.
    let out = tests::release(repo.root(), &["preflight", "v0.8.0"]);
    assert_eq!(out.code, 1, "{}", out.all());
    assert!(out.stdout.contains("no GitHub token"), "{}", out.all());
}

/// A small release policy for the mechanics: one quick gate, the build and publish workflows,
/// the channels the fake serves, and the Go module's prefixed tag.
fn mechanics_policy(fake: &FakeRegistry) -> String {
    let policy = r#"[project]
name = "plasmite"
github = "sandover/plasmite"

[[version]]
file = "Cargo.toml"
field = "package.version"

[changelog]
file = "CHANGELOG.md"

[targets]
manifest = "release/targets.json"

[channel.crates]
package = "plasmite"

[channel.npm]
package = "plasmite"

[channel.pypi]
package = "plasmite"

[channel.github]
asset = "plasmite_{version}_{sdk_platform}.tar.gz"

[channel.homebrew]
tap = "sandover/homebrew-tap"
formula = "Formula/plasmite.rb"

[build]
workflow = "release.yml"

[release]
publish_workflow = "release-publish.yml"
secrets = ["PYPI_API_TOKEN", "CARGO_REGISTRY_TOKEN"]
live_secrets = ["HOMEBREW_TAP_TOKEN"]
pins = ["RELEASE_RUST_TOOLCHAIN"]
nested_modules = ["bindings/go"]

[[gate]]
id = "git-version"
run = ["git", "--version"]

# The install smoke after the live publish: the leg the fake serves for real (a `.crate`
# that builds); npm, PyPI and Homebrew would need their tools and packages, or not apply here.
[smoke]
channels = ["crates"]
"#;
    format!("{policy}{}", fake.endpoints_toml())
}

/// A repository with the mechanics policy, the workflows, a Go module and a bare `origin`.
fn mechanics_repo(fake: &FakeRegistry) -> FixtureRepo {
    let mut builder = FixtureRepo::plasmite("0.8.0")
        .tags(&["v0.7.2"])
        .file("release/policy.toml", mechanics_policy(fake))
        .file("bindings/go/go.mod", "module github.com/sandover/plasmite/bindings/go\n\ngo 1.22\n");
    for (path, text) in workflows("1.88.0") {
        builder = builder.file(path, text);
    }
    builder.with_remote().build().unwrap()
}

fn ok(out: &Run) {
    assert_eq!(out.code, 0, "{}", out.all());
}

/// The local tags of the repository.
fn tags(repo: &FixtureRepo) -> Vec<String> {
    repo.git(&["tag", "-l"]).unwrap().lines().map(str::to_string).collect()
}

/// The tags origin has.
fn remote_tags(repo: &FixtureRepo) -> String {
    repo.git(&["ls-remote", "--tags", "origin"]).unwrap()
}

fn refused(out: &Run, words: &str) {
    assert_eq!(out.code, 1, "{}", out.all());
    let report = out.json();
    let reasons = with_status(&report, "fail");
    assert!(
        reasons.iter().any(|f| f["check"] == "tag.refused" && f["detail"].as_str().unwrap().contains(words)),
        "no refusal saying {words:?}: {report:#}"
    );
}

#[test]
fn tag_is_refused_out_of_order_and_never_moves_a_tag() {
    let fake = fake();
    let repo = mechanics_repo(&fake);
    // Dry-run mode: refused, saying what it would have done; nothing created.
    ok(&run(&repo, &["evidence", "v0.8.0", "--mode", "dry-run", "--agent", "rel@host"]));
    ok(&run(&repo, &["qa", "v0.8.0"]));
    let out = run(&repo, &["tag", "v0.8.0", "--json"]);
    refused(&out, "would create the annotated tag v0.8.0 at HEAD and push it to origin");
    assert!(!tags(&repo).contains(&"v0.8.0".to_string()), "nothing was created");

    // Live, after a subset QA only: refused.
    ok(&run(&repo, &["evidence", "v0.8.0", "--mode", "live", "--agent", "rel@host", "--force"]));
    ok(&run(&repo, &["qa", "v0.8.0", "--only", "versions"]));
    refused(&run(&repo, &["tag", "v0.8.0", "--json"]), "never ran");

    // A complete QA, then a commit since: refused.
    ok(&run(&repo, &["qa", "v0.8.0"]));
    repo.write("src/later.rs", "// later\n").unwrap();
    repo.commit("Later").unwrap();
    repo.git(&["push", "-q", "origin", "main"]).unwrap();
    refused(&run(&repo, &["tag", "v0.8.0", "--json"]), "not the release commit");

    // An open blocker: refused.
    ok(&run(&repo, &["qa", "v0.8.0"]));
    let filed = run(&repo, &["blocker", "v0.8.0", "--check", "git-version", "--title", "t", "--summary", "s"]);
    assert!(filed.stderr.contains("recorded as blocker B1"), "{}", filed.all());
    refused(&run(&repo, &["tag", "v0.8.0", "--json"]), "open blockers: B1");
    ok(&run(&repo, &["blocker", "v0.8.0", "--close", "B1", "--reason", "fixed upstream, verified by hand"]));

    // Ready: both tags at HEAD, pushed in one push, the message the changelog's notes.
    let out = run(&repo, &["tag", "v0.8.0", "--json"]);
    ok(&out);
    let head = repo.git(&["rev-parse", "HEAD"]).unwrap().trim().to_string();
    let report = out.json();
    assert_eq!(report["summary"]["commit"], head.as_str(), "{report:#}");
    let object = report["summary"]["tag_object"].as_str().unwrap().to_string();
    assert_ne!(object, head, "an annotated tag: its object is not the commit");
    let remote = remote_tags(&repo);
    assert!(remote.contains("refs/tags/v0.8.0") && remote.contains("refs/tags/bindings/go/v0.8.0"), "{remote}");
    let message = repo.git(&["tag", "-l", "--format=%(contents)", "v0.8.0"]).unwrap();
    assert!(message.contains("Faster appends under contention"), "{message}");
    let record = evidence_json(repo.root(), "v0.8.0");
    assert_eq!(record["checkpoint"]["tag_local"], head.as_str());
    assert_eq!(record["checkpoint"]["tag_remote"], true);

    // Again: the tag is at HEAD, kept.
    let again = run(&repo, &["tag", "v0.8.0", "--json"]);
    ok(&again);
    assert!(again.stdout.contains("already at HEAD"), "{}", again.all());

    // A commit later, with a complete QA there: the tag is never moved.
    repo.write("src/even-later.rs", "// later\n").unwrap();
    repo.commit("Even later").unwrap();
    repo.git(&["push", "-q", "origin", "main"]).unwrap();
    ok(&run(&repo, &["qa", "v0.8.0"]));
    refused(&run(&repo, &["tag", "v0.8.0", "--json"]), "is never moved");
    assert_eq!(repo.git(&["rev-list", "-n", "1", "v0.8.0"]).unwrap().trim(), head);
}

/// A repository tagged at HEAD through `tag`, with the fake serving that commit as the tag's
/// and a successful build run 2001 of it; returns HEAD.
fn tagged(fake: &FakeRegistry, repo: &FixtureRepo) -> String {
    ok(&run(repo, &["evidence", "v0.8.0", "--mode", "live", "--agent", "rel@host"]));
    ok(&run(repo, &["qa", "v0.8.0"]));
    ok(&run(repo, &["tag", "v0.8.0"]));
    let head = repo.git(&["rev-parse", "HEAD"]).unwrap().trim().to_string();
    fake.update(|r| {
        r.tag_commit = Some(head.clone());
        r.runs.retain(|run| run.id != 2001);
        r.runs.push(WorkflowRun::build(2001, "v0.8.0", &head).unwrap());
        for run in &mut r.runs {
            run.head_sha = head.clone();
        }
    });
    head
}

fn dispatches(fake: &FakeRegistry) -> Vec<Dispatch> {
    let mut out = Vec::new();
    fake.update(|r| out = r.dispatches.clone());
    out
}

#[test]
fn build_records_a_failed_run_with_its_log_and_offers_the_blocker() {
    let fake = fake();
    let repo = mechanics_repo(&fake);
    let head = tagged(&fake, &repo);
    fake.update(|r| {
        let run = r.run_mut(2001).unwrap();
        run.conclusion = Some("failure".into());
        run.jobs[1] = Job::new("build-platform (x86_64-unknown-linux-gnu)", "failure")
            .with_log(&format!("compiling\nerror: linker failed\nGH_TOKEN={TOKEN}\n"));
    });
    let out = run(&repo, &["build", "v0.8.0", "--json"]);
    assert_eq!(out.code, 1, "{}", out.all());
    assert!(out.stderr.contains("--file-blockers"), "the blocker is offered: {}", out.all());
    assert!(out.stderr.contains("run 2001 failure"), "the run and its state on stderr: {}", out.all());
    let report = out.json();
    assert_eq!(report["summary"]["run_id"], "2001");
    let job = finding(&report, "job build-platform (x86_64-unknown-linux-gnu)");
    let log = job["evidence"].to_string();
    assert!(log.contains("error: linker failed"), "{job}");
    let record = std::fs::read_to_string(repo.path(".scratch/release/evidence-v0.8.0.json")).unwrap();
    assert!(record.contains("error: linker failed") && !record.contains(TOKEN), "excerpt kept, token masked");
    assert_eq!(evidence_json(repo.root(), "v0.8.0")["checkpoint"]["tag_local"], head.as_str());

    let filed = run(&repo, &["build", "v0.8.0", "--file-blockers", "--json"]);
    assert_eq!(filed.code, 1, "{}", filed.all());
    let record = evidence_json(repo.root(), "v0.8.0");
    let blockers = record["blockers"].as_array().unwrap();
    assert!(blockers.iter().any(|b| b["summary"].as_str().unwrap().contains("linker failed")), "{record:#}");
}

#[test]
fn build_dispatches_on_the_tag_when_the_push_started_no_run() {
    let fake = fake();
    let repo = mechanics_repo(&fake);
    tagged(&fake, &repo);
    fake.update(|r| {
        r.runs.retain(|run| run.workflow != "release.yml");
        let planned = WorkflowRun { writes_metadata: true, name: "release".into(), ..WorkflowRun::default() };
        r.planned.entry("release.yml".into()).or_default().push_back(planned);
    });
    let out = run(&repo, &["build", "v0.8.0", "--json"]);
    ok(&out);
    let sent = dispatches(&fake);
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert_eq!((sent[0].workflow.as_str(), sent[0].git_ref.as_str()), ("release.yml", "v0.8.0"));
    assert_eq!(sent[0].inputs["tag"], "v0.8.0");
    assert_eq!(out.json()["summary"]["dispatched"], true);
    // The dispatched build proves itself.
    ok(&run(&repo, &["provenance", "--tag", "v0.8.0"]));
}

#[test]
fn publish_live_is_refused_without_rehearsal_provenance_or_secret_and_recovers_the_same_build() {
    let fake = fake();
    let repo = mechanics_repo(&fake);
    tagged(&fake, &repo);
    ok(&run(&repo, &["preflight", "v0.8.0"]));

    // No rehearsal yet.
    let out = run(&repo, &["publish", "v0.8.0", "--live", "--json"]);
    assert_eq!(out.code, 1, "{}", out.all());
    assert!(out.stdout.contains("no successful rehearsal of build run 2001"), "{}", out.all());
    assert!(dispatches(&fake).is_empty(), "nothing dispatched");

    // The rehearsal: dispatched with the tag, never a build run id.
    let out = run(&repo, &["publish", "v0.8.0", "--rehearsal", "--json"]);
    ok(&out);
    let sent = dispatches(&fake);
    assert_eq!(sent[0].inputs.get("release_tag").map(String::as_str), Some("v0.8.0"));
    assert_eq!(sent[0].inputs["rehearsal"], "true");
    assert!(!sent[0].inputs.contains_key("build_run_id"), "{sent:?}");

    // A missing live secret: preflight blocks, and so the live publish.
    fake.update(|r| r.secrets.retain(|s| s != "HOMEBREW_TAP_TOKEN"));
    assert_eq!(run(&repo, &["preflight", "v0.8.0"]).code, 1);
    let out = run(&repo, &["publish", "v0.8.0", "--live", "--json"]);
    assert_eq!(out.code, 1, "{}", out.all());
    assert!(out.stdout.contains("the last preflight is blocked"), "{}", out.all());
    fake.update(|r| r.secrets.push("HOMEBREW_TAP_TOKEN".into()));
    ok(&run(&repo, &["preflight", "v0.8.0"]));

    // Failed provenance: the build's metadata names another tag.
    let head = repo.git(&["rev-parse", "HEAD"]).unwrap().trim().to_string();
    let bad = release_core::testing::fake_registry::build_metadata("v0.7.2", &head, 2001).to_string();
    let zip = release_core::testing::fake_registry::zip_bytes(&[("metadata.json", bad.as_bytes())]).unwrap();
    let good = {
        let mut z = Vec::new();
        fake.update(|r| z = r.run_mut(2001).unwrap().artifacts[0].zip.clone());
        z
    };
    fake.update(|r| r.run_mut(2001).unwrap().set_artifact("release-metadata", zip));
    let out = run(&repo, &["publish", "v0.8.0", "--live", "--json"]);
    assert_eq!(out.code, 1, "{}", out.all());
    assert!(out.stdout.contains("provenance"), "{}", out.all());
    fake.update(|r| r.run_mut(2001).unwrap().set_artifact("release-metadata", good));
    assert_eq!(dispatches(&fake).len(), 1, "still only the rehearsal");

    // Live: the tap job fails; it points to HOMEBREW_TAP_TOKEN; --recover re-dispatches for
    // the same build run and keeps an incident.
    let failing = WorkflowRun {
        conclusion: Some("failure".into()),
        jobs: vec![Job::new("publish-npm", "success"), Job::new("sync-homebrew-tap", "failure").with_log("403\n")],
        ..WorkflowRun::default()
    };
    fake.update(|r| r.planned.entry("release-publish.yml".into()).or_default().push_back(failing));
    let out = run(&repo, &["publish", "v0.8.0", "--live", "--json", "--verify-wait", "1s"]);
    assert_eq!(out.code, 1, "{}", out.all());
    assert!(out.stdout.contains("check HOMEBREW_TAP_TOKEN"), "{}", out.all());
    let out = run(&repo, &["publish", "v0.8.0", "--live", "--recover", "--json", "--verify-wait", "1s"]);
    ok(&out);
    let last = dispatches(&fake).last().cloned().unwrap();
    assert_eq!(last.inputs.get("build_run_id").map(String::as_str), Some("2001"));
    assert!(!last.inputs.contains_key("release_tag"), "{last:?}");
    let record = evidence_json(repo.root(), "v0.8.0");
    let incidents: Vec<&serde_json::Value> =
        record["decisions"].as_array().unwrap().iter().filter(|d| d["kind"] == "incident").collect();
    assert!(incidents.iter().any(|d| d["text"].as_str().unwrap().contains("build run 2001")), "{record:#}");
    // After the live publish, verify ran and was recorded.
    assert!(record["entries"].as_array().unwrap().iter().any(|e| e["report"]["command"] == "verify"), "{record:#}");
}

/// `next` with the token and short waits.
fn next(repo: &FixtureRepo, extra: &[&str]) -> Run {
    let mut args = vec!["next", "v0.8.0", "--json", "--poll", "1s", "--timeout", "2m", "--verify-wait", "1s"];
    args.extend_from_slice(extra);
    run(repo, &args)
}

fn stop(out: &Run) -> String {
    out.json()["summary"]["stop"].as_str().unwrap_or_default().to_string()
}

/// A fixture whose build starts only when dispatched, and the fake knowing its HEAD as the
/// commit the tag will point to.
fn next_fixture(fake: &FakeRegistry, schedule: Option<(u32, u32)>) -> FixtureRepo {
    let repo = mechanics_repo(fake);
    let head = repo.git(&["rev-parse", "HEAD"]).unwrap().trim().to_string();
    fake.update(|r| {
        r.tag_commit = Some(head.clone());
        r.runs.retain(|run| run.workflow != "release.yml");
        let planned = WorkflowRun { writes_metadata: true, name: "release".into(), schedule, ..WorkflowRun::default() };
        r.planned.entry("release.yml".into()).or_default().push_back(planned);
    });
    repo
}

/// The subjects of a `next` report's findings: its steps, then the stop.
fn step_subjects(out: &Run) -> Vec<String> {
    out.json()["findings"].as_array().unwrap().iter().map(|f| f["subject"].as_str().unwrap().to_string()).collect()
}

/// The smoke reports in the record, in order.
fn smokes(repo: &FixtureRepo) -> Vec<serde_json::Value> {
    let record = evidence_json(repo.root(), "v0.8.0");
    record["entries"].as_array().unwrap().iter().filter(|e| e["report"]["command"] == "smoke").cloned().collect()
}

/// Serves v0.8.0 on crates as a real `.crate` whose binary prints `prints`.
fn serve_crate(fake: &FakeRegistry, prints: &str) {
    let bytes = crate_tarball("plasmite", "0.8.0", "plasmite", prints).unwrap();
    fake.update(|r| r.set_crate("0.8.0", bytes));
}

#[test]
fn next_alone_takes_a_release_from_evidence_to_verify() {
    let fake = fake();
    let repo = next_fixture(&fake, None);
    // What users would install prints another version: the smoke after the live publish fails.
    serve_crate(&fake, "plasmite 0.8.01");
    let out = next(&repo, &[]);
    assert_eq!(out.code, 3, "no step ran: nothing was decided: {}", out.all());
    assert_eq!(stop(&out), "human", "{}", out.all());
    assert!(out.stderr.contains("release evidence v0.8.0 --mode"), "{}", out.all());
    ok(&run(&repo, &["evidence", "v0.8.0", "--mode", "live", "--agent", "rel@host"]));

    // qa, preflight, tag, build, provenance, rehearsal; then the human's go.
    let out = next(&repo, &[]);
    ok(&out);
    assert_eq!(stop(&out), "human", "{}", out.all());
    assert!(out.stderr.contains("next v0.8.0 --live"), "{}", out.all());
    let steps: Vec<String> =
        out.json()["findings"].as_array().unwrap().iter().map(|f| f["subject"].as_str().unwrap().to_string()).collect();
    assert_eq!(
        steps,
        ["step qa", "step preflight", "step tag", "step build", "step provenance", "step rehearsal", "next v0.8.0"],
        "{}",
        out.all()
    );
    assert!(remote_tags(&repo).contains("refs/tags/bindings/go/v0.8.0"));

    // A dry run never publishes live, so it never reaches the smoke: it stops before both.
    let record_path = repo.path(".scratch/release/evidence-v0.8.0.json");
    let live_record = std::fs::read_to_string(&record_path).unwrap();
    assert!(live_record.contains("\"mode\": \"live\""), "{live_record}");
    std::fs::write(&record_path, live_record.replace("\"mode\": \"live\"", "\"mode\": \"dry-run\"")).unwrap();
    let out = next(&repo, &["--live"]);
    assert_eq!(out.code, 3, "no step ran: {}", out.all());
    assert_eq!(stop(&out), "dry-run", "{}", out.all());
    assert!(
        out.stderr.contains("would now publish it, verify every channel and run the install smoke"),
        "{}",
        out.all()
    );
    assert!(out.stderr.contains("nothing was published, nothing installed"), "{}", out.all());
    assert!(smokes(&repo).is_empty(), "no smoke in a dry run");
    assert_eq!(
        dispatches(&fake).iter().filter(|d| d.workflow == "release-publish.yml").count(),
        1,
        "the rehearsal only"
    );
    std::fs::write(&record_path, &live_record).unwrap();

    // The live publish, verify, then the smoke, which fails: what to do, and no "done".
    let out = next(&repo, &["--live"]);
    assert_eq!(out.code, 1, "{}", out.all());
    assert_eq!(stop(&out), "blocked", "{}", out.all());
    assert_eq!(step_subjects(&out), ["step live publish", "step smoke", "next v0.8.0"], "{}", out.all());
    assert!(out.stderr.contains("the install smoke of v0.8.0 did not pass (smoke.crates FAIL"), "{}", out.all());
    assert!(out.stderr.contains("cargo xtask release blocker v0.8.0 --check smoke.crates"), "{}", out.all());
    assert!(out.stderr.contains("`cargo xtask release smoke v0.8.0`"), "{}", out.all());
    assert_eq!(smokes(&repo).len(), 1, "the failed smoke is recorded");

    // The channel is fixed: `next` runs the smoke again, and the release is complete.
    serve_crate(&fake, "plasmite 0.8.0");
    let out = next(&repo, &["--live"]);
    ok(&out);
    assert_eq!(stop(&out), "done", "{}", out.all());
    assert_eq!(step_subjects(&out), ["step smoke", "next v0.8.0"], "{}", out.all());
    assert!(
        out.stderr.contains(
            "release v0.8.0 is complete: every channel verified and the install smoke passed (crates plasmite@0.8.0)"
        ),
        "{}",
        out.all()
    );
    let smoked = smokes(&repo);
    assert_eq!(smoked.len(), 2, "{smoked:#?}");
    assert_eq!(smoked[1]["report"]["verdict"], "ready", "{:#}", smoked[1]);
    let asked: Vec<String> = fake.requests().into_iter().map(|l| l.path).collect();
    assert!(asked.iter().any(|p| p == "/dl/plasmite/plasmite-0.8.0.crate"), "cargo installed from the fake: {asked:?}");
    let sent = dispatches(&fake);
    let publishes: Vec<&Dispatch> = sent.iter().filter(|d| d.workflow == "release-publish.yml").collect();
    assert_eq!(publishes.len(), 2, "one rehearsal, one live: {sent:?}");
    assert_eq!(
        (publishes[0].inputs["rehearsal"].as_str(), publishes[1].inputs["rehearsal"].as_str()),
        ("true", "false")
    );
    let status = run(&repo, &["status", "v0.8.0", "--json"]).json();
    assert_eq!(status["next_step"], "done: every channel verified and the install smoke passed", "{status:#}");
    // Done stays done, without smoking again.
    assert_eq!(stop(&next(&repo, &["--live"])), "done");
    assert_eq!(smokes(&repo).len(), 2);
}

#[test]
fn next_in_dry_run_mode_refuses_the_tag_saying_what_it_would_do() {
    let fake = fake();
    let repo = next_fixture(&fake, None);
    ok(&run(&repo, &["evidence", "v0.8.0", "--mode", "dry-run", "--agent", "rel@host"]));
    let out = next(&repo, &[]);
    ok(&out);
    assert_eq!(stop(&out), "dry-run", "{}", out.all());
    assert!(
        out.stderr.contains("would now push the annotated tag v0.8.0 (and bindings/go/v0.8.0) to origin"),
        "{}",
        out.all()
    );
    assert!(!remote_tags(&repo).contains("v0.8.0") && tags(&repo).iter().all(|t| t != "v0.8.0"));
    assert!(dispatches(&fake).is_empty());
}

#[test]
fn next_killed_while_waiting_resumes_without_a_second_dispatch() {
    let fake = fake();
    // The build stays queued until the test lets it finish.
    let repo = next_fixture(&fake, Some((100_000, 0)));
    ok(&run(&repo, &["evidence", "v0.8.0", "--mode", "live", "--agent", "rel@host"]));
    let mut child = tests::release_command(repo.root(), &["next", "v0.8.0", "--poll", "1s", "--timeout", "10m"])
        .env("GH_TOKEN", TOKEN)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // Killed once it waits on the dispatched build.
    let waited = std::time::Instant::now();
    while dispatches(&fake).is_empty() && waited.elapsed() < std::time::Duration::from_secs(60) {
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    std::thread::sleep(std::time::Duration::from_millis(1500));
    child.kill().unwrap();
    child.wait().unwrap();
    assert_eq!(dispatches(&fake).len(), 1, "the build was dispatched once");
    assert!(remote_tags(&repo).contains("refs/tags/v0.8.0"), "the tag step was done before the kill");

    // The run finishes; `next` again picks up where the record stands.
    fake.update(|r| {
        for run in r.runs.iter_mut().filter(|run| run.workflow == "release.yml") {
            run.schedule = None;
        }
    });
    let out = next(&repo, &[]);
    ok(&out);
    assert_eq!(stop(&out), "human", "{}", out.all());
    let builds = dispatches(&fake).iter().filter(|d| d.workflow == "release.yml").count();
    assert_eq!(builds, 1, "the run already started was found, not dispatched again");
    let steps = out.json()["findings"].to_string();
    assert!(steps.contains("step build") && !steps.contains("step tag"), "{}", out.all());
}

#[test]
fn next_bumps_commits_then_pushes_the_release_commit() {
    let fake = fake();
    let mut builder = FixtureRepo::plasmite("0.8.0")
        .tags(&["v0.7.2"])
        .replace("CHANGELOG.md", "## [Unreleased]\n", "## [Unreleased]\n\n### Added\n- A patch.\n")
        .file(
            "release/policy.toml",
            mechanics_policy(&fake)
                .replace("[[version]]", "[[version]]\nfile = \"Cargo.lock\"\npackage = \"plasmite\"\n\n[[version]]"),
        );
    for (path, text) in workflows("1.88.0") {
        builder = builder.file(path, text);
    }
    let repo = builder.with_remote().build().unwrap();
    ok(&run(&repo, &["evidence", "v0.8.1", "--mode", "live", "--agent", "rel@host", "--base-tag", "v0.7.2"]));
    let out = run(&repo, &["next", "v0.8.1", "--json"]);
    ok(&out);
    assert_eq!(stop(&out), "human", "{}", out.all());
    assert!(out.stderr.contains("review it"), "{}", out.all());
    assert_eq!(repo.git(&["log", "-1", "--format=%s"]).unwrap().trim(), "Release v0.8.1");
    assert!(repo.read("Cargo.toml").unwrap().contains("version = \"0.8.1\""));
    assert!(repo.read("CHANGELOG.md").unwrap().contains("## [0.8.1] - "));
    assert!(repo.git(&["status", "--porcelain"]).unwrap().trim().is_empty(), "everything committed");
    let out = run(&repo, &["next", "v0.8.1", "--json"]);
    let steps = out.json()["findings"].to_string();
    assert!(steps.contains("step push") && steps.contains("step qa"), "{}", out.all());
    let pushed = repo.git(&["rev-parse", "origin/main"]).unwrap();
    assert_eq!(pushed, repo.git(&["rev-parse", "HEAD"]).unwrap(), "the release commit is on origin");
}

#[test]
fn every_command_writes_github_output_and_a_partial_publish_is_annotated() {
    let fake = fake();
    let repo = mechanics_repo(&fake);
    std::fs::create_dir_all(repo.scratch()).unwrap();
    let output = repo.scratch().join("github_output");
    let summary = repo.scratch().join("step_summary");
    let env = [
        ("GH_TOKEN", TOKEN),
        ("GITHUB_ACTIONS", "true"),
        ("GITHUB_OUTPUT", output.as_str()),
        ("GITHUB_STEP_SUMMARY", summary.as_str()),
    ];
    let out = release_with_env(repo.root(), &["preflight", "v0.8.0"], &env);
    ok(&out);
    let written = std::fs::read_to_string(&output).unwrap();
    assert_eq!(written, "verdict=ready\nexit_code=0\nevidence=.scratch/release/evidence-v0.8.0.json\n");

    // npm lacks the release: live on the others, missing on npm.
    std::fs::remove_file(&output).unwrap();
    fake.update(|r| {
        r.npm.remove("0.8.0");
        r.npm_tags.insert("latest".into(), "0.7.2".into());
    });
    let out = release_with_env(repo.root(), &["verify", "v0.8.0", "--http-timeout", "2s"], &env);
    assert_eq!(out.code, 1, "{}", out.all());
    let written = std::fs::read_to_string(&output).unwrap();
    assert!(
        written.starts_with("verdict=blocked\nexit_code=1\nevidence=.scratch/release/evidence-v0.8.0.json\n"),
        "{written}"
    );
    assert!(written.contains("missing_channels=npm\n"), "{written}");
    assert!(written.contains("live_channels=crates,"), "{written}");
    assert!(out.all().contains("::error title=partial publish%3A missing on npm::live on crates"), "{}", out.all());
    let summary = std::fs::read_to_string(&summary).unwrap();
    assert!(summary.contains("#### Partial publish") && summary.contains("- missing on: `npm`"), "{summary}");
    assert!(!written.contains(TOKEN) && !summary.contains(TOKEN));

    // A command without a report says `ok` (docs/commands.md, "Outputs").
    std::fs::remove_file(&output).unwrap();
    ok(&release_with_env(repo.root(), &["status", "v0.8.0"], &env));
    let written = std::fs::read_to_string(&output).unwrap();
    assert!(written.starts_with("verdict=ok\nexit_code=0\n"), "{written}");
}

#[test]
fn publish_stops_when_the_runs_before_its_dispatch_cannot_be_listed() {
    // Without that list an older dispatched run could be taken for the new one: nothing is
    // dispatched, and the command says why (incomplete, not a guess).
    let fake = fake();
    let repo = mechanics_repo(&fake);
    tagged(&fake, &repo);
    fake.fault_path(
        release_core::testing::Service::GithubApi,
        "/actions/workflows/release-publish.yml/runs",
        release_core::testing::Fault::Status(500),
    );
    let out = run(&repo, &["publish", "v0.8.0", "--rehearsal", "--json"]);
    assert_eq!(out.code, 3, "{}", out.all());
    assert!(dispatches(&fake).is_empty(), "nothing dispatched: {:?}", dispatches(&fake));
    assert!(out.stdout.contains("release-publish.yml"), "{}", out.all());
}
