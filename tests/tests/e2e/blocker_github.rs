//! Release blockers as GitHub issues, end to end: the real `xtask` binary against a
//! FakeRegistry that lists and files issues (`blocker`, `--run-id`, the `blockers` gate,
//! `qa --file-blockers`, `verify --file-blockers`).

use release_core::testing::{
    FakeRegistry, FixtureRepo, PublishedRelease,
    fake_registry::{Fault, Issue, Logged, Service},
    plasmite_manifest,
};
use tests::{Run, evidence_json, findings, qa_fixture, release_with_env};

/// The token the tests hand the command; it must never appear anywhere but the header.
const TOKEN: &str = "canary-gh-token-5f1e9a7c3b";

struct World {
    repo: FixtureRepo,
    fake: FakeRegistry,
    /// An empty folder for `GH_CONFIG_DIR`, so `gh auth token` finds no login of the machine.
    gh_config: String,
}

/// A QA fixture whose policy files blockers as GitHub issues in the fake's repository,
/// plus `policy` (gates), committed and pushed.
fn world(policy: &str) -> World {
    let manifest = plasmite_manifest();
    let fake = FakeRegistry::start(PublishedRelease::coherent(&manifest, "0.8.0").unwrap()).unwrap();
    let repo = qa_fixture(&format!("{policy}\n[blockers]\ntracker = \"github\"\n{}", fake.endpoints_toml()), &[]);
    repo.replace(
        "release/policy.toml",
        "name = \"plasmite\"\n",
        "name = \"plasmite\"\ngithub = \"sandover/plasmite\"\n",
    )
    .unwrap();
    repo.commit("File blockers as GitHub issues").unwrap();
    repo.git(&["push", "-q", "origin", "main"]).unwrap();
    let gh_config = repo.scratch().join("gh-config").to_string();
    std::fs::create_dir_all(&gh_config).unwrap();
    World { repo, fake, gh_config }
}

impl World {
    fn run(&self, args: &[&str], token: bool, extra: &[(&str, &str)]) -> Run {
        let mut env = vec![("GH_CONFIG_DIR", self.gh_config.as_str())];
        if token {
            env.push(("GH_TOKEN", TOKEN));
        }
        env.extend_from_slice(extra);
        release_with_env(self.repo.root(), args, &env)
    }

    fn file(&self, title: &str, extra: &[&str], token: bool) -> Run {
        let mut args =
            vec!["blocker", "v0.8.0", "--check", "release-gate", "--title", title, "--summary", "clippy fails"];
        args.extend_from_slice(extra);
        self.run(&args, token, &[])
    }

    fn posts(&self) -> Vec<Logged> {
        self.fake.requests().into_iter().filter(|r| r.method == "POST").collect()
    }

    fn issues(&self) -> Vec<Issue> {
        let mut out = Vec::new();
        self.fake.update(|r| out = r.issues.clone());
        out
    }

    fn add_issue(&self, title: &str, state: &str, pull_request: bool) {
        self.fake.update(|r| {
            let number = r.issues.iter().map(|i| i.number).max().unwrap_or(0) + 1;
            r.issues.push(Issue {
                number,
                title: title.into(),
                body: String::new(),
                labels: vec!["release-blocker".into()],
                state: state.into(),
                pull_request,
            });
        });
    }

    fn record(&self) -> serde_json::Value {
        evidence_json(self.repo.root(), "v0.8.0")
    }
}

#[test]
fn files_one_labelled_issue_per_title() {
    let w = world("");
    let title = "[release-blocker][v0.8.0] clippy fails";
    // Neither a pull request nor a closed issue with the same title is the blocker.
    w.add_issue(title, "open", true);
    w.add_issue(title, "closed", false);

    let run = w.file("clippy fails", &[], true);
    assert_eq!(run.code, 0, "{}", run.all());
    assert!(run.stdout.contains("filed issue #3"), "{}", run.all());
    let posts = w.posts();
    assert_eq!(posts.len(), 1, "{posts:#?}");
    assert!(posts[0].path.ends_with("/repos/sandover/plasmite/issues"), "{}", posts[0].path);
    assert_eq!(posts[0].authorization.as_deref(), Some(format!("Bearer {TOKEN}").as_str()));
    let sent: serde_json::Value = serde_json::from_str(&posts[0].body).unwrap();
    assert_eq!(sent["title"], title);
    assert_eq!(sent["labels"], serde_json::json!(["release-blocker"]));
    let body = sent["body"].as_str().unwrap();
    for heading in release_core::testing::BLOCKER_SECTIONS {
        assert!(body.contains(heading), "{heading}:\n{body}");
    }
    assert!(body.contains("Summary: clippy fails"), "{body}");

    // The same blocker again: already filed, nothing posted, one blocker in the record.
    let again = w.file("clippy fails", &[], true);
    assert_eq!(again.code, 0, "{}", again.all());
    assert!(again.stdout.contains("already filed: open issue #3"), "{}", again.all());
    assert_eq!(w.posts().len(), 1);
    let blockers = w.record()["blockers"].as_array().unwrap().clone();
    assert_eq!(blockers.len(), 1, "{blockers:#?}");
    assert!(blockers[0]["external"].as_str().unwrap().contains("/sandover/plasmite/issues/3"), "{blockers:#?}");

    // Once the issue is closed, the problem coming back is a new issue.
    w.fake.update(|r| r.issues.iter_mut().filter(|i| i.number == 3).for_each(|i| i.state = "closed".into()));
    let back = w.file("clippy fails", &[], true);
    assert!(back.stdout.contains("filed issue #4"), "{}", back.all());
}

#[test]
fn bug_36_is_not_repeated_every_page_is_read_and_no_epic_is_needed() {
    let w = world("");
    // 150 open blockers of other releases, then the one being filed: on the second page.
    for n in 0..150 {
        w.add_issue(&format!("[release-blocker][v0.7.{n}] old"), "open", false);
    }
    w.add_issue("[release-blocker][v0.8.0] audit fails", "open", false);
    let run = w.file("audit fails", &[], true);
    assert_eq!(run.code, 0, "{}", run.all());
    assert!(run.stdout.contains("already filed: open issue #151"), "{}", run.all());
    assert!(w.posts().is_empty(), "the script filed a duplicate here (bug 36)");
    let lists: Vec<String> = w
        .fake
        .requests()
        .into_iter()
        .filter(|r| r.method == "GET" && r.path.contains("/issues"))
        .map(|r| r.path)
        .collect();
    assert_eq!(lists.len(), 2, "{lists:?}");
    assert!(
        lists[0].contains("state=open")
            && lists[0].contains("labels=release-blocker")
            && lists[0].contains("per_page=100")
    );
    assert!(lists[1].contains("page=2"), "{lists:?}");

    // A first blocker needs no epic: exactly one issue is created, the blocker itself.
    let first = w.file("wheel smoke fails", &[], true);
    assert_eq!(first.code, 0, "{}", first.all());
    let posts = w.posts();
    assert_eq!(posts.len(), 1);
    assert!(posts[0].body.contains("[release-blocker][v0.8.0] wheel smoke fails"), "{}", posts[0].body);
}

#[test]
fn run_id_adds_the_run_url_and_failed_jobs_and_secrets_stay_out() {
    let w = world("");
    w.fake.update(|r| {
        let run = r.run_mut(2001).unwrap();
        run.jobs[1].conclusion = Some("failure".into());
        run.jobs[2].conclusion = Some("cancelled".into());
    });
    let log = w.repo.scratch().join("gate.log");
    std::fs::write(&log, format!("step 1\nGH_TOKEN={TOKEN} was set\nerror: build failed\n")).unwrap();
    let run = w.file(
        &format!("release build failed {TOKEN}"),
        &["--run-id", "2001", "--log-snippet-file", log.as_str()],
        true,
    );
    assert_eq!(run.code, 0, "{}", run.all());
    let posts = w.posts();
    assert_eq!(posts.len(), 1);
    let body: serde_json::Value = serde_json::from_str(&posts[0].body).unwrap();
    let text = body["body"].as_str().unwrap();
    let web = w.fake.url(Service::GithubWeb);
    assert!(text.contains(&format!("Run URL: {web}/sandover/plasmite/actions/runs/2001")), "{text}");
    assert!(
        text.contains("Failed jobs: build-platform (x86_64-unknown-linux-gnu)\n"),
        "cancelled is not failed: {text}"
    );
    assert!(text.contains("error: build failed"), "{text}");
    assert!(w.fake.requests().iter().any(|r| r.path.contains("/actions/runs/2001/jobs?filter=latest&per_page=100")));

    // The token is only ever in the Authorization header.
    for r in w.fake.requests() {
        assert!(!r.body.contains(TOKEN) && !r.path.contains(TOKEN), "{r:#?}");
    }
    assert!(!run.stdout.contains(TOKEN) && !run.stderr.contains(TOKEN), "{}", run.all());
    for file in ["evidence-v0.8.0.json", "evidence-v0.8.0.md"] {
        let text = std::fs::read_to_string(w.repo.path(&format!(".scratch/release/{file}"))).unwrap();
        assert!(!text.contains(TOKEN), "{file}:\n{text}");
    }
}

#[test]
fn an_unreadable_run_is_said_and_incomplete_but_the_blocker_is_filed() {
    let w = world("");
    let run = w.file("release build failed", &["--run-id", "999", "--json"], true);
    assert_eq!(run.code, 3, "{}", run.all());
    let report = run.json();
    let runs: Vec<_> =
        findings(&report, "blocker").into_iter().filter(|f| f["subject"] == "workflow run 999").collect();
    assert_eq!(runs[0]["status"], "incomplete", "{report:#}");
    assert!(runs[0]["detail"].as_str().unwrap().contains("could not be read"), "{report:#}");
    let posts = w.posts();
    assert_eq!(posts.len(), 1, "still filed");
    assert!(posts[0].body.contains("Run details could not be read"), "{}", posts[0].body);
    assert_eq!(w.record()["blockers"].as_array().unwrap().len(), 1);
    assert!(w.fake.requests().iter().all(|r| !r.path.contains("/runs/999/jobs")), "no jobs of a run that is not there");

    // A run id that is not a number is a usage error.
    let bad = w.file("x", &["--run-id", "12ab"], true);
    assert_eq!(bad.code, 2, "{}", bad.all());
}

#[test]
fn issues_disabled_is_incomplete_and_the_blocker_stays_in_the_record() {
    let w = world("");
    w.fake.update(|r| r.issues_enabled = false);
    let run = w.file("clippy fails", &[], true);
    assert_eq!(run.code, 3, "{}", run.all());
    assert!(run.stdout.contains("HTTP 410: issues are disabled on sandover/plasmite"), "{}", run.all());
    assert!(
        run.stdout.contains("/repos/sandover/plasmite/issues (HTTP 410)"),
        "the URL is the evidence: {}",
        run.all()
    );
    let blockers = w.record()["blockers"].as_array().unwrap().clone();
    assert_eq!(blockers.len(), 1);
    assert!(blockers[0]["external"].is_null());
}

#[test]
fn without_a_token_nothing_is_posted() {
    let w = world("");
    let run = w.file("clippy fails", &[], false);
    assert_eq!(run.code, 3, "{}", run.all());
    assert!(run.stdout.contains("no GitHub token") && run.stdout.contains("Issues: write"), "{}", run.all());
    assert!(w.posts().is_empty());
    assert!(w.issues().is_empty());
    assert_eq!(w.record()["blockers"].as_array().unwrap().len(), 1, "the record still has it");
}

#[test]
fn dry_run_posts_nothing_and_still_finds_the_duplicate() {
    let w = world("");
    let run = w.file("clippy fails", &["--dry-run"], true);
    assert_eq!(run.code, 0, "{}", run.all());
    assert!(run.stdout.contains("dry run: would file \"[release-blocker][v0.8.0] clippy fails\""), "{}", run.all());
    assert!(w.posts().is_empty());
    w.add_issue("[release-blocker][v0.8.0] clippy fails", "open", false);
    let dup = w.file("clippy fails", &["--dry-run"], false);
    assert!(dup.stdout.contains("already filed: open issue #1"), "{}", dup.all());
    assert!(w.posts().is_empty());
    assert!(!w.repo.path(".scratch/release/evidence-v0.8.0.json").exists(), "a dry run records nothing");
}

#[test]
fn qa_blocks_on_an_open_issue_of_the_target_only() {
    let w = world("");
    let qa = || w.run(&["qa", "v0.8.0", "--only", "blockers", "--json"], true, &[]);
    let github = |run: &Run| {
        let report = run.json();
        findings(&report, "blockers")
            .into_iter()
            .find(|f| f["subject"] == "release blockers (GitHub issues)")
            .cloned()
            .unwrap_or_else(|| panic!("{}", run.all()))
    };
    w.add_issue("[release-blocker][v0.8.1] not this release", "open", false);
    w.add_issue("[release-blocker][v0.8.0] fixed already", "closed", false);
    w.add_issue("[release-blocker][v0.8.0] a pull request", "open", true);
    let clean = qa();
    assert_eq!(clean.code, 0, "{}", clean.all());
    assert_eq!(github(&clean)["status"], "pass");

    w.add_issue("[release-blocker][v0.8.0] wheel smoke fails", "open", false);
    let blocked = qa();
    assert_eq!(blocked.code, 1, "{}", blocked.all());
    let f = github(&blocked);
    assert_eq!(f["status"], "fail");
    assert!(f["detail"].as_str().unwrap().contains("#4 [release-blocker][v0.8.0] wheel smoke fails"), "{f:#}");
    assert!(f["evidence"][0]["url"].as_str().unwrap().ends_with("/sandover/plasmite/issues/4"), "{f:#}");

    // Issues that cannot be read are not "no blockers".
    w.fake.fault(Service::GithubApi, Fault::Garbage);
    let down = qa();
    assert_eq!(down.code, 3, "{}", down.all());
    assert_eq!(github(&down)["status"], "incomplete");
}

#[test]
fn qa_file_blockers_files_each_failing_gate_once() {
    let w = world("[[gate]]\nid = \"bad\"\nrun = [\"false\"]\n");
    let ci = [
        ("GITHUB_RUN_ID", "555"),
        ("GITHUB_SERVER_URL", "https://github.example"),
        ("GITHUB_REPOSITORY", "sandover/plasmite"),
    ];
    let run = w.run(&["qa", "v0.8.0", "--file-blockers", "--json"], true, &ci);
    assert_eq!(run.code, 1, "a filed blocker does not make the release ready: {}", run.all());
    let report = run.json();
    assert_eq!(report["verdict"], "blocked");
    let filed = findings(&report, "blocker");
    assert_eq!(filed.len(), 1, "{report:#}");
    assert_eq!(filed[0]["subject"], "github: [release-blocker][v0.8.0] bad");
    assert!(
        filed[0]["detail"].as_str().unwrap().contains("filed issue #1")
            && filed[0]["detail"].as_str().unwrap().contains("blocker B1"),
        "{:#}",
        filed[0]
    );
    let posts = w.posts();
    assert_eq!(posts.len(), 1, "{posts:#?}");
    let sent: serde_json::Value = serde_json::from_str(&posts[0].body).unwrap();
    let body = sent["body"].as_str().unwrap();
    assert!(body.contains("Gate that failed or was incomplete: bad"), "{body}");
    assert!(body.contains("Failing command: `false`"), "{body}");
    assert!(body.contains("Run URL: https://github.example/sandover/plasmite/actions/runs/555"), "{body}");

    // The re-run: the gate still fails, and so does the blockers gate now; nothing new is filed.
    let again = w.run(&["qa", "v0.8.0", "--file-blockers", "--json"], true, &ci);
    assert_eq!(again.code, 1, "{}", again.all());
    let report = again.json();
    assert_eq!(findings(&report, "blockers").iter().filter(|f| f["status"] == "fail").count(), 2, "{report:#}");
    let refiled = findings(&report, "blocker");
    assert_eq!(refiled.len(), 1, "the blockers gate's own findings are not filed: {report:#}");
    assert!(refiled[0]["detail"].as_str().unwrap().contains("already filed"), "{report:#}");
    assert_eq!(w.posts().len(), 1);
    assert_eq!(w.record()["blockers"].as_array().unwrap().len(), 1);
}

#[test]
fn verify_file_blockers_files_for_a_failing_channel() {
    let w = world("[channel.crates]\npackage = \"plasmite\"\n");
    w.fake.update(|r| r.crates.retain(|c| c.vers != "0.8.0"));
    let verify =
        || w.run(&["verify", "v0.8.0", "--channels", "crates", "--file-blockers", "--http-retries", "0"], true, &[]);
    let run = verify();
    assert_eq!(run.code, 1, "{}", run.all());
    let posts = w.posts();
    assert_eq!(posts.len(), 1, "{}", run.all());
    let sent: serde_json::Value = serde_json::from_str(&posts[0].body).unwrap();
    assert_eq!(sent["title"], "[release-blocker][v0.8.0] verify.crates.published: crates plasmite@0.8.0", "{sent:#}");
    let body = sent["body"].as_str().unwrap();
    assert!(body.contains("`cargo xtask release verify v0.8.0 --channels crates`"), "{body}");
    assert!(run.stdout.contains("filed issue #1"), "{}", run.all());
    let again = verify();
    assert_eq!(again.code, 1, "{}", again.all());
    assert!(again.stdout.contains("already filed"), "{}", again.all());
    assert_eq!(w.posts().len(), 1);
}

#[test]
fn a_ci_blocker_follows_its_check_across_fix_commits() {
    let w = world("[ci]\nworkflow = \"ci.yml\"\n");
    let qa = || w.run(&["qa", "v0.8.0", "--only", "ci-green", "--file-blockers", "--json"], true, &[]);
    let first = qa();
    assert_ne!(first.code, 0, "no CI run on this commit blocks: {}", first.all());
    let ci = findings(&first.json(), "ci-green")[0].clone();
    assert_eq!(ci["key"], "ci-green:ci ci.yml", "keyed on the workflow, not the commit: {ci:#}");
    assert_eq!(w.posts().len(), 1, "{}", first.all());

    // A fix commit: HEAD moves, the subject names the new commit, the key and blocker do not.
    w.repo.write("NOTES.md", "a fix\n").unwrap();
    w.repo.commit("A fix").unwrap();
    w.repo.git(&["push", "-q", "origin", "main"]).unwrap();
    let again = qa();
    let report = again.json();
    let ci_again = findings(&report, "ci-green")[0];
    assert_ne!(ci_again["subject"], ci["subject"], "{ci_again:#}");
    assert_eq!(ci_again["key"], ci["key"]);
    let refiled = findings(&report, "blocker");
    assert!(refiled.iter().any(|f| f["detail"].as_str().unwrap().contains("already filed")), "{}", again.all());
    assert_eq!(w.posts().len(), 1, "no second blocker: {:#?}", w.issues());
    assert_eq!(w.record()["blockers"].as_array().unwrap().len(), 1);
}

#[test]
fn a_token_folded_over_gate_output_never_reaches_the_issue_body() {
    const CANARY: &str = "Zq7c4naryXw93kLm0pQ2vB8d";
    let w = world("[[gate]]\nid = \"leaky\"\nrun = [\"./gate.sh\"]\n");
    let script = "#!/bin/sh\nprintf 'leak: %s\\n' \"$NPM_TOKEN\" | fold -w 10\nexit 1\n";
    w.repo.write("gate.sh", script).unwrap();
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(w.repo.path("gate.sh"), std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    w.repo.commit("A gate that prints a token folded over lines").unwrap();
    w.repo.git(&["push", "-q", "origin", "main"]).unwrap();
    let run = w.run(&["qa", "v0.8.0", "--only", "leaky", "--file-blockers", "--json"], true, &[("NPM_TOKEN", CANARY)]);
    assert_eq!(run.code, 1, "{}", run.all());
    let posts = w.posts();
    assert_eq!(posts.len(), 1, "{}", run.all());
    let body = &posts[0].body;
    assert!(body.contains("[REDACTED]"), "the excerpt is there, masked: {body}");
    for piece in ["leak: Zq7c", "4naryXw93k", "Lm0pQ2vB8d", CANARY] {
        assert!(!body.contains(piece), "the issue body holds `{piece}`: {body}");
    }
}
