//! `cargo xtask release versions` end to end in plasmite-shaped fixture repositories.

use release_core::testing::FixtureRepo;
use tests::{release, with_status};

const SURFACES: [(&str, &str); 7] = [
    ("Cargo.toml", "version = \"0.8.0\""),
    ("bindings/python/pyproject.toml", "version = \"0.8.0\""),
    ("bindings/node/native/Cargo.toml", "version = \"0.8.0\""),
    ("bindings/node/package.json", "\"version\": \"0.8.0\""),
    ("bindings/node/package-lock.json", "\"version\": \"0.8.0\""),
    ("bindings/node/package-lock.json", "      \"version\": \"0.8.0\""),
    ("Cargo.lock", "version = \"0.8.0\""),
];

#[test]
fn aligned_repo_passes_listing_every_surface() {
    let repo = FixtureRepo::plasmite("0.8.0").build().unwrap();
    let run = release(repo.root(), &["versions", "--json"]);
    assert_eq!(run.code, 0, "{}", run.all());
    let report = run.json();
    assert_eq!(report["schema_version"], 1);
    assert_eq!(report["verdict"], "ready");
    let findings = report["findings"].as_array().unwrap();
    assert_eq!(findings.len(), 7, "six surfaces plus Cargo.lock");
    assert!(findings.iter().all(|f| f["status"] == "pass"));
    assert!(findings[6]["subject"].as_str().unwrap().starts_with("Cargo.lock"));
}

#[test]
fn any_one_changed_surface_fails_naming_file_and_both_values() {
    for (i, (file, text)) in SURFACES.iter().enumerate() {
        let repo = FixtureRepo::plasmite("0.8.0").build().unwrap();
        // The second package-lock surface is the nested one: change the later occurrence.
        let full = repo.read(file).unwrap();
        let at = if i == 5 { full.rfind(text) } else { full.find(text) }.unwrap();
        let changed = format!("{}{}{}", &full[..at], text.replace("0.8.0", "0.7.9"), &full[at + text.len()..]);
        repo.write(file, changed).unwrap();

        let run = release(repo.root(), &["versions", "--json"]);
        assert_eq!(run.code, 1, "{file}: {}", run.all());
        let report = run.json();
        assert_eq!(report["verdict"], "blocked");
        let fails = with_status(&report, "fail");
        assert_eq!(fails.len(), 1, "{file}: {}", run.all());
        let (subject, detail) = (fails[0]["subject"].as_str().unwrap(), fails[0]["detail"].as_str().unwrap());
        assert!(subject.starts_with(file), "{}", fails[0]);
        assert!(detail.contains("0.7.9") && detail.contains("0.8.0"), "{}", fails[0]);
    }
}

#[test]
fn set_changes_only_the_version_text_and_then_passes() {
    let repo = FixtureRepo::plasmite("0.8.0").build().unwrap();
    let before: Vec<String> = SURFACES.iter().map(|(f, _)| repo.read(f).unwrap()).collect();
    let run = release(repo.root(), &["versions", "--set", "0.9.0"]);
    assert_eq!(run.code, 0, "{}", run.all());
    for ((file, _), old) in SURFACES.iter().zip(&before) {
        let new = repo.read(file).unwrap();
        // Byte for byte the same once the version text is put back.
        assert_eq!(new.replace("\"0.9.0\"", "\"0.8.0\""), *old, "{file} changed beyond its version");
        assert_ne!(new, *old, "{file} was not bumped");
    }
    // Untouched by the bump: the lockfile's other package, the comment after the version.
    assert!(repo.read("Cargo.toml").unwrap().contains("version = \"0.9.0\"   # lockstep"));
    assert!(repo.read("Cargo.lock").unwrap().contains("version = \"1.0.98\""));
    let again = release(repo.root(), &["versions"]);
    assert_eq!(again.code, 0, "{}", again.all());
}

#[cfg(unix)]
#[test]
fn set_keeps_permissions() {
    use std::os::unix::fs::PermissionsExt;
    let repo = FixtureRepo::plasmite("0.8.0").build().unwrap();
    let path = repo.path("bindings/node/package.json");
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o664)).unwrap();
    let run = release(repo.root(), &["versions", "--set", "0.9.0"]);
    assert_eq!(run.code, 0, "{}", run.all());
    // Bug 9: the script left 0600 files behind.
    assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o664);
}

#[cfg(unix)]
#[test]
fn set_with_a_read_only_file_changes_nothing() {
    use std::os::unix::fs::PermissionsExt;
    let repo = FixtureRepo::plasmite("0.8.0").build().unwrap();
    let locked = repo.path("bindings/node/package-lock.json");
    std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o444)).unwrap();
    let run = release(repo.root(), &["versions", "--set", "0.9.0"]);
    assert_eq!(run.code, 2, "{}", run.all());
    assert!(run.stderr.contains("package-lock.json") && run.stderr.contains("read-only"), "{}", run.all());
    assert_eq!(repo.git(&["status", "--porcelain"]).unwrap(), "", "no file may change");
    let leftovers = std::fs::read_dir(repo.path("bindings/node"))
        .unwrap()
        .filter(|e| e.as_ref().unwrap().file_name().to_string_lossy().starts_with(".release-core-"));
    assert_eq!(leftovers.count(), 0, "temp files must be cleaned up");
}

#[test]
fn set_rejects_invalid_versions_and_writes_nothing() {
    let repo = FixtureRepo::plasmite("0.8.0").build().unwrap();
    for bad in ["1.2.3.4", "01.2.3", "0.9", "0.9.0+build"] {
        let run = release(repo.root(), &["versions", "--set", bad]);
        assert_eq!(run.code, 2, "{bad}: {}", run.all());
        assert!(run.stderr.contains(bad), "{}", run.all());
    }
    assert_eq!(repo.git(&["status", "--porcelain"]).unwrap(), "");
}

#[test]
fn prerelease_bump_keeps_python_surface_consistent() {
    let repo = FixtureRepo::plasmite("0.8.0").build().unwrap();
    let run = release(repo.root(), &["versions", "--set", "0.9.0-rc.1"]);
    assert_eq!(run.code, 0, "{}", run.all());
    // A PEP 440 spelling in pyproject is the same version (bug 10: normalisation ignored).
    repo.replace("bindings/python/pyproject.toml", "0.9.0-rc.1", "0.9.0rc1").unwrap();
    let run = release(repo.root(), &["versions"]);
    assert_eq!(run.code, 0, "{}", run.all());
}

/// The distinct surface files of the plasmite fixture.
const SURFACE_FILES: [&str; 5] = [
    "Cargo.toml",
    "bindings/python/pyproject.toml",
    "bindings/node/native/Cargo.toml",
    "bindings/node/package.json",
    "bindings/node/package-lock.json",
];

fn contents(repo: &FixtureRepo) -> Vec<String> {
    SURFACE_FILES.iter().chain(["Cargo.lock"].iter()).map(|f| repo.read(f).unwrap()).collect()
}

#[cfg(unix)]
#[test]
fn set_killed_at_any_moment_is_all_old_all_new_or_completed_by_the_next_command() {
    use std::process::Stdio;

    let repo = FixtureRepo::plasmite("0.8.0").build().unwrap();
    assert_eq!(repo.git(&["status", "--porcelain"]).unwrap(), "");
    let old = contents(&repo);
    release(repo.root(), &["versions"]); // builds xtask once, outside the measured run
    let start = std::time::Instant::now();
    let run = release(repo.root(), &["versions", "--set", "0.9.0"]);
    // Kills spread over the whole run: from before it starts to past its end.
    let whole = start.elapsed();
    assert_eq!(run.code, 0, "{}", run.all());
    let new = contents(&repo);
    repo.git(&["checkout", "--", "."]).unwrap();
    let journal_dir = repo.path(".git/release-core");
    let (mut all_old, mut all_new, mut completed) = (0, 0, 0);
    for i in 0..30u64 {
        let mut child = tests::release_command(repo.root(), &["versions", "--set", "0.9.0"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(whole * i as u32 / 27);
        let _ = child.kill();
        let _ = child.wait();

        // Straight after the kill: no temp file in the work tree, and every surface old, every
        // surface new, or a journal that says which way to go.
        let status = repo.git(&["status", "--porcelain"]).unwrap();
        assert!(status.lines().all(|l| l.starts_with(" M ")), "kill {i}: only surfaces may change:\n{status}");
        let now = contents(&repo);
        let state: Vec<char> = now
            .iter()
            .zip(old.iter().zip(&new))
            .map(|(n, (o, w))| {
                if n == o {
                    'o'
                } else if n == w {
                    'n'
                } else {
                    '?'
                }
            })
            .collect();
        assert!(!state.contains(&'?'), "kill {i}: a surface is neither old nor new: {state:?}");
        let journal = journal_dir.join("bump-journal.json").exists();
        let uniform = state.iter().all(|c| *c == 'o') || state.iter().all(|c| *c == 'n');
        assert!(uniform || journal, "kill {i}: mixed surfaces {state:?} and no journal");

        // The next command completes or rolls back, saying so, and then every surface agrees.
        let next = release(repo.root(), &["versions", "--json"]);
        assert_eq!(next.code, 0, "kill {i} ({state:?}, journal {journal}): {}", next.all());
        if journal {
            assert!(next.stderr.contains("completed an interrupted `versions --set 0.9.0`"), "{}", next.all());
            completed += 1;
        }
        let after = contents(&repo);
        if after == new {
            all_new += 1;
        } else {
            assert_eq!(after, old, "kill {i}: after recovery, all old or all new");
            all_old += 1;
        }
        let left: Vec<String> = std::fs::read_dir(&journal_dir)
            .map(|d| d.map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect())
            .unwrap_or_default();
        assert!(left.iter().all(|n| n == "bump.lock"), "kill {i}: recovery leaves nothing: {left:?}");
        repo.git(&["checkout", "--", "."]).unwrap();
    }
    eprintln!("30 kills: {all_old} left all old, {all_new} all new, {completed} completed from the journal");
}

#[cfg(unix)]
#[test]
fn a_version_file_that_is_a_fifo_is_refused_not_waited_on() {
    use std::time::{Duration, Instant};

    let repo = FixtureRepo::plasmite("0.8.0").build().unwrap();
    let fifo = repo.path("bindings/node/package.json");
    std::fs::remove_file(&fifo).unwrap();
    let made = std::process::Command::new("mkfifo").arg(fifo.as_str()).status().unwrap();
    assert!(made.success());
    for args in [&["versions"][..], &["versions", "--set", "0.9.0"][..]] {
        let mut child = tests::release_command(repo.root(), args)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let start = Instant::now();
        while child.try_wait().unwrap().is_none() {
            if start.elapsed() > Duration::from_secs(30) {
                let _ = child.kill();
                panic!("{args:?} hangs on a FIFO");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let out = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains("bindings/node/package.json") && stderr.contains("a FIFO"), "{stderr}");
    }
    assert!(repo.read("Cargo.toml").unwrap().contains("version = \"0.8.0\""), "nothing was bumped");
}

#[cfg(unix)]
#[test]
fn a_symlinked_version_file_inside_the_repository_is_edited_through() {
    let repo = FixtureRepo::plasmite("0.8.0").build().unwrap();
    let link = repo.path("bindings/node/package.json");
    std::fs::rename(&link, repo.path("bindings/node/package.real.json")).unwrap();
    std::os::unix::fs::symlink("package.real.json", &link).unwrap();
    let run = release(repo.root(), &["versions", "--set", "0.9.0"]);
    assert_eq!(run.code, 0, "{}", run.all());
    assert!(std::fs::symlink_metadata(&link).unwrap().file_type().is_symlink(), "the link stays a link");
    assert!(repo.read("bindings/node/package.real.json").unwrap().contains("\"version\": \"0.9.0\""));
}

#[cfg(unix)]
#[test]
fn policy_paths_that_leave_the_repository_are_refused_naming_the_key() {
    let outside = tempfile::tempdir().unwrap();
    let secret = outside.path().join("package.json");
    std::fs::write(&secret, "{\"version\": \"0.8.0\"}\n").unwrap();
    let repo = FixtureRepo::plasmite("0.8.0").build().unwrap();
    let link = repo.path("bindings/node/package.json");
    std::fs::remove_file(&link).unwrap();
    std::os::unix::fs::symlink(&secret, &link).unwrap();
    for args in [&["versions"][..], &["versions", "--set", "0.9.0"][..]] {
        let run = release(repo.root(), args);
        assert_eq!(run.code, 2, "{}", run.all());
        assert!(
            run.stderr.contains("release/policy.toml:")
                && run.stderr.contains("version.file = `bindings/node/package.json`"),
            "{}",
            run.all()
        );
        assert!(run.stderr.contains("outside the repository"), "{}", run.all());
    }
    assert_eq!(std::fs::read_to_string(&secret).unwrap(), "{\"version\": \"0.8.0\"}\n", "never written");
    assert!(std::fs::symlink_metadata(&link).unwrap().file_type().is_symlink(), "never replaced by a file");

    // `..` and absolute paths are refused on load, naming the key and line.
    let policy = repo.read("release/policy.toml").unwrap();
    for bad in ["../CHANGELOG.md", "/etc/CHANGELOG.md"] {
        let changed = policy.replace("file = \"CHANGELOG.md\"", &format!("file = \"{bad}\""));
        assert_ne!(changed, policy);
        repo.write("release/policy.toml", &changed).unwrap();
        let run = release(repo.root(), &["versions"]);
        assert_eq!(run.code, 2, "{}", run.all());
        assert!(run.stderr.contains("release/policy.toml:") && run.stderr.contains("changelog.file"), "{}", run.all());
    }
}
