//! Reaching the registries with no configuration (issue 11): `endpoints` prints what was
//! resolved from where, and `verify` reaches an HTTPS registry whose CA exists only in a
//! temporary `SSL_CERT_FILE` (or `SSL_CERT_DIR`), as behind a TLS-inspecting proxy.

use std::process::Command;

use camino::{Utf8Path, Utf8PathBuf};
use release_core::testing::{
    FakeRegistry, FixtureRepo, MACHINE_VARS, PublishedRelease, Service, TlsTerminator, plasmite_manifest,
};
use tests::{Run, finding_with, release_command};

/// `release <args>` in `repo`, with a temporary home and only `env` of the machine variables.
fn run(repo: &Utf8Path, home: &Utf8Path, args: &[&str], env: &[(&str, &str)]) -> Run {
    let mut cmd: Command = release_command(repo, args);
    // The developer's own settings do not leak into a test: only `env` and a temporary home.
    for var in MACHINE_VARS.iter().chain(["HOME"].iter()) {
        cmd.env_remove(var);
    }
    cmd.env("HOME", home.as_str()).env("CARGO_HOME", home.join(".cargo").as_str());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("xtask runs");
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

fn temp_dir(tmp: &tempfile::TempDir) -> Utf8PathBuf {
    Utf8PathBuf::from_path_buf(tmp.path().to_path_buf()).unwrap()
}

#[test]
fn endpoints_json_says_what_was_resolved_and_from_where() {
    let home = tempfile::tempdir().unwrap();
    let home = temp_dir(&home);
    std::fs::write(home.join(".npmrc"), "fund=false\nregistry=https://npm.corp.example/\n").unwrap();
    let repo = FixtureRepo::plasmite("0.8.0")
        .file(
            ".cargo/config.toml",
            "[source.crates-io]\nreplace-with = \"mirror\"\n[source.mirror]\nregistry = \"sparse+https://crates.corp.example/index/\"\n",
        )
        .build()
        .unwrap();
    let env =
        [("PIP_INDEX_URL", "https://pypi.corp.example/simple/"), ("GITHUB_API_URL", "https://ghe.example/api/v3")];
    let out = run(repo.root(), &home, &["endpoints", "--json"], &env);
    // The crates download base of a mirror is its config.json `dl`, read when needed: every
    // service is decided.
    assert_eq!(out.code, 0, "{}", out.all());
    let json = out.json();
    assert_eq!(json["command"], "endpoints");
    let by =
        |service: &str| json["endpoints"].as_array().unwrap().iter().find(|e| e["service"] == service).unwrap().clone();
    let config = repo.root().join(".cargo/config.toml");
    assert_eq!(by("crates_index")["url"], "https://crates.corp.example/index");
    assert_eq!(
        by("crates_index")["source"],
        format!("{config} (source.mirror.registry via source.crates-io.replace-with)")
    );
    assert!(by("crates_download")["url"].is_null());
    assert!(by("crates_download")["problem"].is_null());
    assert!(by("crates_download")["source"].as_str().unwrap().contains("config.json"));
    assert_eq!(by("npm")["url"], "https://npm.corp.example");
    assert_eq!(by("npm")["source"], format!("{} line 2 (registry)", home.join(".npmrc")));
    assert_eq!(by("pypi")["url"], "https://pypi.corp.example");
    assert_eq!(by("pypi")["source"], "environment PIP_INDEX_URL");
    assert_eq!(by("github_api")["url"], "https://ghe.example/api/v3");
    assert_eq!(by("github_web")["source"], "default");
    assert!(json["tls"]["trust"].is_string(), "{json:#}");

    // The policy overrides all of it; the human form lists each with its source.
    let repo = FixtureRepo::plasmite("0.8.0")
        .append("release/policy.toml", "\n[endpoints]\ncrates_download = \"https://dl.corp.example/crates\"\n")
        .build()
        .unwrap();
    // (PIP_CONFIG_FILE=/dev/null: no pip configuration file at all, the machine's included.)
    let out = run(repo.root(), &home, &["endpoints"], &[("PIP_CONFIG_FILE", "/dev/null")]);
    assert_eq!(out.code, 0, "{}", out.all());
    assert!(out.stdout.contains("https://dl.corp.example/crates  policy [endpoints].crates_download"), "{}", out.all());
    assert!(out.stdout.contains("https://index.crates.io"), "{}", out.all());
    assert!(out.stdout.contains("pypi             https://pypi.org"), "{}", out.all());
}

/// A plasmite fixture whose crates index is the fake's, reached only through HTTPS.
fn https_world() -> (FixtureRepo, FakeRegistry, TlsTerminator) {
    let fake = FakeRegistry::start(PublishedRelease::coherent(&plasmite_manifest(), "0.8.0").unwrap()).unwrap();
    let front = TlsTerminator::start(&fake.url(Service::CratesIndex)).unwrap();
    let index = front.url_of(&fake.url(Service::CratesIndex));
    let toml = fake.endpoints_toml_with(&[(Service::CratesIndex, Some(&index))]);
    let repo = FixtureRepo::plasmite("0.8.0").append("release/policy.toml", &toml).build().unwrap();
    (repo, fake, front)
}

#[test]
fn verify_over_https_trusts_the_ca_in_ssl_cert_file_or_dir_and_only_then() {
    let (repo, _fake, _front) = https_world();
    let tmp = tempfile::tempdir().unwrap();
    let dir = temp_dir(&tmp);
    let ca = release_core::testing::write_test_ca(&dir).unwrap();
    let args = ["verify", "v0.8.0", "--channels", "crates", "--http-timeout", "5s", "--http-retries", "0", "--json"];

    let trusted = run(repo.root(), &dir, &args, &[("SSL_CERT_FILE", ca.as_str())]);
    assert_eq!(trusted.code, 0, "{}", trusted.all());
    finding_with(&trusted.json(), "pass", "crates plasmite@0.8.0", &["published"]);

    let by_dir = run(repo.root(), &dir, &args, &[("SSL_CERT_DIR", dir.as_str())]);
    assert_eq!(by_dir.code, 0, "{}", by_dir.all());

    // Without it, the system store does not know the private CA: Incomplete, naming the store
    // and how to add a CA.
    let untrusted = run(repo.root(), &dir, &args, &[]);
    assert_eq!(untrusted.code, 3, "{}", untrusted.all());
    finding_with(
        &untrusted.json(),
        "incomplete",
        "crates plasmite@0.8.0",
        &["not trusted", "UnknownIssuer", "checked against", "SSL_CERT_FILE=/path/ca.pem"],
    );

    // A file that holds no certificate is named, never passed over for another store.
    let garbage = dir.join("garbage.pem");
    std::fs::write(&garbage, "not a certificate").unwrap();
    let broken = run(repo.root(), &dir, &args, &[("SSL_CERT_FILE", garbage.as_str())]);
    assert_eq!(broken.code, 3, "{}", broken.all());
    finding_with(&broken.json(), "incomplete", "crates plasmite@0.8.0", &[&format!("SSL_CERT_FILE={garbage}")]);
    let listed = run(repo.root(), &dir, &["endpoints"], &[("SSL_CERT_FILE", garbage.as_str())]);
    assert_eq!(listed.code, 3, "{}", listed.all());
    assert!(listed.stdout.contains(&format!("SSL_CERT_FILE={garbage}")), "{}", listed.all());
}
