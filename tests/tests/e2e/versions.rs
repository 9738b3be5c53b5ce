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
