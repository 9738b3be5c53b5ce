//! Filing blockers with the ergo CLI, as it is today (ergo >= 4.2; facts §13.3).
//!
//! The contract used: `ergo --version`, `ergo list --all --json` (→ `{"version":1,"items":[...]}`),
//! `ergo new task "<title>" [--epic <id>]` with the body on stdin, printing only the new id.
//! An epic is created as a root task that the first blocker's `--epic` promotes. The pre-3.0
//! forms the old scripts used (`--json` before the subcommand, `list --epics`, JSON on stdin)
//! are never called.

use anyhow::{Context, bail};
use camino::Utf8Path;
use serde::Deserialize;

use super::{Blocker, CHECK};
use crate::{
    redact::Redactor,
    report::{Evidence, Finding},
};

/// Oldest ergo with the commands used here (`list --json` arrived in 4.2).
pub const MIN_VERSION: (u64, u64) = (4, 2);

/// One item of `ergo list --json`.
#[derive(Debug, Clone, Deserialize)]
pub struct Item {
    /// Six-character id.
    pub id: String,
    /// Title.
    pub title: String,
    /// `task` or `epic`.
    #[serde(default)]
    pub kind: String,
    /// `todo`, `doing`, `blocked`, `done`, `canceled`, `failed`.
    #[serde(default)]
    pub state: String,
    /// The epic a task belongs to.
    #[serde(default)]
    pub epic_id: Option<String>,
}

impl Item {
    /// Not finished: ergo 6 counts `done`, `canceled` and `failed` as finished (a failed task
    /// was tried and closed; it waits on nobody). Any other state, an unknown one included, is
    /// open, so a state a newer ergo adds blocks until this list learns it (fail closed).
    pub fn is_open(&self) -> bool {
        !FINISHED.contains(&self.state.as_str())
    }
}

/// The states ergo 6 counts as finished.
pub const FINISHED: [&str; 3] = ["done", "canceled", "failed"];

#[derive(Deserialize)]
struct Listing {
    items: Vec<Item>,
}

/// The ergo CLI, run in a repository.
#[derive(Debug, Clone)]
pub struct Ergo {
    program: String,
    dir: camino::Utf8PathBuf,
}

impl Ergo {
    /// `program` (usually `ergo`) run in `dir`.
    pub fn new(program: &str, dir: &Utf8Path) -> Ergo {
        Ergo { program: program.to_string(), dir: dir.to_owned() }
    }

    fn run(&self, args: &[&str], stdin: Option<&str>) -> anyhow::Result<String> {
        use std::{
            io::Write as _,
            process::{Command, Stdio},
        };
        let program = &self.program;
        let mut child = Command::new(program)
            .args(args)
            .current_dir(&self.dir)
            .stdin(if stdin.is_some() { Stdio::piped() } else { Stdio::null() })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| match e.kind() {
                std::io::ErrorKind::NotFound => {
                    anyhow::anyhow!("cannot run `{program}`: command not found: is ergo installed and on PATH?")
                }
                _ => anyhow::Error::new(e).context(format!("cannot run `{program}`")),
            })?;
        // The input is written from a thread while the output is read here, so neither side
        // waits on a full pipe. A tracker that fails before reading it (bad credentials) closes
        // the pipe: its exit status and stderr say why, not our broken write, which is ignored.
        let writer = match (stdin, child.stdin.take()) {
            (Some(input), Some(mut pipe)) => {
                let input = input.to_string();
                Some(std::thread::spawn(move || match pipe.write_all(input.as_bytes()) {
                    Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(e),
                    _ => Ok(()),
                }))
            }
            _ => None,
        };
        let out = child.wait_with_output().with_context(|| format!("cannot wait for `{program}`"))?;
        let written = writer.map_or(Ok(()), |w| w.join().unwrap_or(Ok(())));
        if out.status.success() {
            written.with_context(|| format!("cannot write to `{program}`"))?;
        }
        if !out.status.success() {
            bail!(
                "`{program} {}` failed ({}): {}",
                args.join(" "),
                out.status,
                String::from_utf8_lossy(&out.stderr).trim()
            );
        }
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }

    /// The installed version, from `ergo --version` (`ergo version 6.0.0`).
    pub fn version(&self) -> anyhow::Result<semver::Version> {
        let out = self.run(&["--version"], None)?;
        out.split_whitespace()
            .find_map(|word| semver::Version::parse(word.trim_start_matches('v')).ok())
            .with_context(|| format!("cannot read a version from `{} --version`: {out:?}", self.program))
    }

    /// Every item, finished ones included.
    pub fn list_all(&self) -> anyhow::Result<Vec<Item>> {
        let out = self.run(&["list", "--all", "--json"], None)?;
        parse_listing(&out)
            .with_context(|| format!("`{} list --all --json` did not print the expected JSON", self.program))
    }

    /// Checks the version is supported (see [`MIN_VERSION`]).
    fn check_version(&self) -> anyhow::Result<()> {
        let version = self.version()?;
        if (version.major, version.minor) < MIN_VERSION {
            bail!(
                "ergo {version} is too old: release-core uses `list --json` and `new task --epic` (ergo >= {}.{}); upgrade ergo",
                MIN_VERSION.0,
                MIN_VERSION.1
            );
        }
        Ok(())
    }

    /// The open tasks of the epic `epic_title` (none when there is no such epic).
    pub fn open_tasks(&self, epic_title: &str) -> anyhow::Result<Vec<Item>> {
        self.check_version()?;
        Ok(open_in_epic(self.list_all()?, epic_title))
    }

    fn new_task(&self, title: &str, epic: Option<&str>, body: &str) -> anyhow::Result<String> {
        let mut args = vec!["new", "task", title];
        if let Some(epic) = epic {
            args.extend(["--epic", epic]);
        }
        let out = self.run(&args, Some(body))?;
        let id = out.trim();
        if id.is_empty() || id.contains(char::is_whitespace) {
            bail!("`{} new task` printed {out:?}, not an id", self.program);
        }
        Ok(id.to_string())
    }

    /// Files `blocker` (or, with `dry_run`, says what it would do). The finding is `Pass` when
    /// the blocker is filed or an open task with its title already exists, `Incomplete` when
    /// ergo is missing, too old or misbehaves.
    pub fn file(&self, blocker: &Blocker, redactor: &Redactor, dry_run: bool) -> Finding {
        let subject = format!("ergo: {}", blocker.task_title());
        match self.try_file(blocker, redactor, dry_run) {
            Ok(detail) => Finding::pass(CHECK, subject, detail),
            Err(e) => Finding::incomplete(CHECK, subject, redactor.redact(&format!("{e:#}"))),
        }
        .with(Evidence::Command {
            argv: vec![self.program.clone(), "new".into(), "task".into()],
            exit_code: None,
            tail: String::new(),
        })
    }

    fn try_file(&self, blocker: &Blocker, redactor: &Redactor, dry_run: bool) -> anyhow::Result<String> {
        self.check_version()?;
        let items = self.list_all()?;
        let epic_title = blocker.epic_title();
        let epic = find_epic(&items, &epic_title);
        // The title goes on ergo's argv (visible to every process): masked like the body.
        let title = redactor.redact(&blocker.task_title());
        if let Some(epic) = epic
            && let Some(existing) =
                items.iter().find(|i| i.title == title && i.epic_id.as_deref() == Some(&epic.id) && i.is_open())
        {
            return Ok(format!("already filed: open task {} in epic {} has this title", existing.id, epic.id));
        }
        let body = blocker.body(redactor);
        if dry_run {
            let epic = epic.map_or_else(|| format!("a new epic \"{epic_title}\""), |e| format!("epic {}", e.id));
            return Ok(format!("dry run: would file \"{title}\" in {epic}"));
        }
        let epic_id = match epic {
            Some(e) => e.id.clone(),
            None => self.new_task(&epic_title, None, &epic_body(blocker))?,
        };
        let task = self.new_task(&title, Some(&epic_id), &body)?;
        Ok(format!("filed task {task} in epic {epic_id}"))
    }
}

/// The items of `ergo list --json` output (`{"version":1,"items":[...]}`).
pub fn parse_listing(json: &str) -> anyhow::Result<Vec<Item>> {
    let listing: Listing = serde_json::from_str(json)?;
    Ok(listing.items)
}

/// The open tasks (see [`Item::is_open`]) of the epic titled `epic_title` among `items`.
pub fn open_in_epic(items: Vec<Item>, epic_title: &str) -> Vec<Item> {
    let Some(epic) = find_epic(&items, epic_title) else { return Vec::new() };
    let epic_id = epic.id.clone();
    items.into_iter().filter(|i| i.epic_id.as_deref() == Some(epic_id.as_str()) && i.is_open()).collect()
}

/// The epic titled `title`. Epics are listed with kind "epic"; a root task of that title (from
/// an interrupted run) counts too, and the first blocker filed under it promotes it.
fn find_epic<'a>(items: &'a [Item], title: &str) -> Option<&'a Item> {
    items
        .iter()
        .find(|i| i.title == title && i.kind == "epic")
        .or_else(|| items.iter().find(|i| i.title == title && i.epic_id.as_deref().unwrap_or("").is_empty()))
}

fn epic_body(blocker: &Blocker) -> String {
    let tag = blocker.target.tag();
    format!(
        "## Goal\n\nTrack every blocker of the {tag} release.\n\n\
         ## Background / Rationale\n\nRelease QA is fail-closed: failed or incomplete gates become tracked work.\n\n\
         ## Acceptance Criteria\n\nEvery blocker is a task here; the release waits until each is done, or canceled with a rationale.\n\n\
         ## Automated Validation Gates\n\n- `ergo list --epic <this epic> --json`\n- `ergo list --epic <this epic> --ready --json`\n\n\
         ## Consult Me\n\nStop for maintainer decisions on scope: target matrix, packaging policy, breaking API policy.\n"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(unix)]
    #[test]
    fn a_tracker_failing_before_it_reads_its_input_is_reported_by_its_own_words() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile::tempdir().unwrap();
        let dir = Utf8Path::from_path(dir.path()).unwrap();
        let script = dir.join("ergo");
        std::fs::write(&script, "#!/bin/sh\necho 'bad credentials' >&2\nexit 4\n").unwrap();
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
        // Far more than a pipe holds: the write meets a closed pipe whatever the timing.
        let body = "x".repeat(4 * 1024 * 1024);
        let err = Ergo::new(script.as_str(), dir).run(&["new", "task", "t"], Some(&body)).unwrap_err();
        let err = format!("{err:#}");
        assert!(err.contains("bad credentials") && err.contains("failed"), "{err}");
        assert!(!err.contains("Broken pipe"), "{err}");
    }

    /// `ergo list --all --json` as ergo 6 prints it: an epic, and tasks in every state.
    const LISTING: &str = r#"{"version":1,"items":[
      {"id":"EPC001","title":"Release blockers: v0.9.0","kind":"epic","state":"todo","ready":false},
      {"id":"TSK001","title":"clippy fails","kind":"task","state":"failed","ready":false,"epic_id":"EPC001"},
      {"id":"TSK002","title":"bench slower","kind":"task","state":"done","ready":false,"epic_id":"EPC001"},
      {"id":"TSK003","title":"audit","kind":"task","state":"canceled","ready":false,"epic_id":"EPC001"},
      {"id":"TSK004","title":"notices","kind":"task","state":"blocked","ready":false,"epic_id":"EPC001"},
      {"id":"TSK005","title":"other release","kind":"task","state":"todo","ready":true,"epic_id":"EPC999"}
    ]}"#;

    #[test]
    fn a_failed_task_is_finished_as_ergo_6_counts_it() {
        let items = parse_listing(LISTING).unwrap();
        let failed = items.iter().find(|i| i.id == "TSK001").unwrap();
        assert!(!failed.is_open(), "ergo 6 counts `failed` as finished");
        let open: Vec<String> = open_in_epic(items, "Release blockers: v0.9.0").into_iter().map(|i| i.id).collect();
        assert_eq!(open, ["TSK004"], "only the blocked task is open; done, canceled and failed are not");
        let unknown = Item { state: "paused".into(), ..parse_listing(LISTING).unwrap().remove(1) };
        assert!(unknown.is_open(), "a state this code does not know stays open (fail closed)");
    }
}
