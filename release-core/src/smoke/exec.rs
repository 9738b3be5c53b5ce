//! Running one command of a smoke attempt: argv only (no shell), output to a log file in the
//! scratch dir, killed at its deadline, the tail kept (redacted) as evidence.

use std::{
    ffi::{OsStr, OsString},
    fs::File,
    path::{Path, PathBuf},
    process::{Command, Stdio},
    thread,
    time::{Duration, Instant},
};

use camino::Utf8Path;

use crate::{redact::Redactor, report::Evidence};

/// Lines of output kept as evidence.
pub const TAIL_LINES: usize = 20;

/// How often a running command is polled for its exit.
const POLL: Duration = Duration::from_millis(25);

/// A tool found on PATH, or how it would be run through another tool (`corepack pnpm`).
#[derive(Debug, Clone)]
pub struct Tool {
    /// The program that is started.
    pub program: PathBuf,
    /// Arguments that come before the command's own (`pnpm` for `corepack pnpm`).
    pub prefix: Vec<String>,
    /// The words shown in evidence for `program` + `prefix` (`npm`, `corepack pnpm`).
    pub shown: Vec<String>,
    /// Extra environment for every run of the tool.
    pub env: Vec<(String, String)>,
    /// Variables removed from the environment of every run of the tool (the rustup toolchain
    /// the repository pinned, for `cargo install`).
    pub unset: Vec<String>,
}

impl Tool {
    /// `name` looked up on `path` (a PATH value; `None` finds nothing).
    pub fn find(name: &str, path: Option<&OsStr>) -> Option<Tool> {
        let program = which(name, path)?;
        Some(Tool { program, prefix: Vec::new(), shown: vec![name.to_string()], env: Vec::new(), unset: Vec::new() })
    }

    /// A program given by path (an installed binary).
    pub fn at(path: &Utf8Path) -> Tool {
        Tool {
            program: path.into(),
            prefix: Vec::new(),
            shown: vec![path.to_string()],
            env: Vec::new(),
            unset: Vec::new(),
        }
    }
}

/// The first executable file called `name` in the folders of `path` (a PATH value; `None`
/// finds nothing).
pub fn which(name: &str, path: Option<&OsStr>) -> Option<PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    let path = path?;
    std::env::split_paths(path).map(|dir| dir.join(name)).find(|candidate| {
        std::fs::metadata(candidate).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
    })
}

/// What one command did.
#[derive(Debug, Clone)]
pub struct Ran {
    /// The command as shown (tool words + arguments).
    pub argv: Vec<String>,
    /// Exit code; `None` when it was killed or could not start.
    pub code: Option<i32>,
    /// Combined stdout and stderr (lossy UTF-8, redacted): all of it when under
    /// `crate::tail::MAX_TAIL_BYTES`, else its last lines within that many bytes (each line cut
    /// at `crate::tail::MAX_LINE`). The whole output stays in the log file.
    pub output: String,
    /// Set when the command was killed at its deadline.
    pub timed_out: bool,
    /// Set when it could not be started, with the reason.
    pub not_started: Option<String>,
    /// The log file with the whole output.
    pub log: Option<camino::Utf8PathBuf>,
}

impl Ran {
    /// True when it exited with 0.
    pub fn ok(&self) -> bool {
        self.code == Some(0)
    }

    /// The command, exit code and output tail as evidence.
    pub fn evidence(&self) -> Evidence {
        let mut tail = tail(&self.output);
        if let Some(why) = &self.not_started {
            tail = why.clone();
        } else if self.timed_out {
            tail.push_str("\n[killed: the channel's time budget ran out]");
        }
        Evidence::Command { argv: self.argv.clone(), exit_code: self.code, tail: tail.trim_start().to_string() }
    }

    /// One sentence about how it ended, for details.
    pub fn how(&self) -> String {
        match (&self.not_started, self.timed_out, self.code) {
            (Some(why), _, _) => format!("`{}` could not start: {why}", self.argv.join(" ")),
            (None, true, _) => format!("`{}` did not finish before the budget ran out", self.argv.join(" ")),
            (None, false, Some(code)) => format!("`{}` exited with {code}", self.argv.join(" ")),
            (None, false, None) => format!("`{}` was ended by a signal", self.argv.join(" ")),
        }
    }
}

/// The last [`TAIL_LINES`] lines of `text`.
pub fn tail(text: &str) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(TAIL_LINES)..].join("\n")
}

/// One command to run.
pub struct Cmd<'a> {
    /// The tool.
    pub tool: &'a Tool,
    /// Its arguments.
    pub args: Vec<String>,
    /// Working directory.
    pub cwd: &'a Utf8Path,
    /// Extra environment.
    pub env: Vec<(String, String)>,
    /// When set, PATH is replaced by this value.
    pub path: Option<OsString>,
    /// Where stdout and stderr go.
    pub log: &'a Utf8Path,
    /// It is killed when still running at this instant.
    pub deadline: Instant,
}

/// Runs the command to its end or its deadline. Never fails: a command that cannot start is a
/// [`Ran`] with `not_started`.
pub fn run(cmd: Cmd<'_>, redactor: &Redactor) -> Ran {
    let mut argv = cmd.tool.shown.clone();
    argv.extend(cmd.args.iter().cloned());
    let mut ran = Ran {
        argv,
        code: None,
        output: String::new(),
        timed_out: false,
        not_started: None,
        log: Some(cmd.log.to_owned()),
    };
    let spawned = (|| -> std::io::Result<std::process::Child> {
        let log = File::create(cmd.log)?;
        let mut command = Command::new(&cmd.tool.program);
        command
            .args(&cmd.tool.prefix)
            .args(&cmd.args)
            .current_dir(cmd.cwd)
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log);
        for name in &cmd.tool.unset {
            command.env_remove(name);
        }
        command.envs(cmd.tool.env.iter().map(|(k, v)| (k, v))).envs(cmd.env.iter().map(|(k, v)| (k, v)));
        if let Some(path) = &cmd.path {
            command.env("PATH", path);
        }
        command.spawn()
    })();
    let mut child = match spawned {
        Ok(child) => child,
        Err(e) => {
            let hint = if e.kind() == std::io::ErrorKind::NotFound { " (is it installed?)" } else { "" };
            ran.not_started = Some(format!("{}: {e}{hint}", Path::new(&cmd.tool.program).display()));
            return ran;
        }
    };
    loop {
        match child.try_wait() {
            Ok(Some(status)) => {
                ran.code = status.code();
                break;
            }
            Ok(None) if Instant::now() >= cmd.deadline => {
                let _ = child.kill();
                let _ = child.wait();
                ran.timed_out = true;
                break;
            }
            Ok(None) => thread::sleep(POLL),
            Err(e) => {
                let _ = child.kill();
                ran.not_started = Some(format!("lost track of the process: {e}"));
                break;
            }
        }
    }
    // Read from the log's end: a tool that printed a gigabyte costs a bounded tail here.
    let text = crate::tail::file_tail(cmd.log.as_std_path(), usize::MAX).unwrap_or_default();
    ran.output = redactor.redact(&text);
    // The log is kept for the maintainer (the finding points to it) and may be uploaded with
    // the record: the tool wrote it raw, so it is rewritten masked before anyone reads it.
    if let Err(e) = redact_file(cmd.log, redactor) {
        ran.output.push_str(&format!("\n(the log {} could not be masked, so it was removed: {e:#})", cmd.log));
        let _ = std::fs::remove_file(cmd.log);
        ran.log = None;
    }
    ran
}

/// Rewrites the file at `path` with every line passed through `redactor` (secrets folded over
/// lines included), streaming, and replaces it atomically: the unmasked file is never left
/// half-rewritten.
fn redact_file(path: &Utf8Path, redactor: &Redactor) -> anyhow::Result<()> {
    use anyhow::Context as _;
    use std::io::Write as _;
    let Some(dir) = path.parent() else { anyhow::bail!("{path} has no folder") };
    let source = File::open(path).with_context(|| format!("cannot read {path}"))?;
    let mut masked = tempfile::NamedTempFile::new_in(dir).with_context(|| format!("cannot write in {dir}"))?;
    let mut lines = crate::redact::LineRedactor::new(redactor.clone());
    let mut failed = None;
    let mut write = |out: &mut tempfile::NamedTempFile, ready: Vec<String>| {
        for line in ready {
            if let Err(e) = writeln!(out, "{line}") {
                failed.get_or_insert(e);
            }
        }
    };
    crate::tail::read_lines(source, |line| {
        write(&mut masked, lines.push(line));
        true
    });
    write(&mut masked, lines.flush());
    if let Some(e) = failed {
        return Err(e).with_context(|| format!("cannot write the masked copy of {path}"));
    }
    // The tool created the log with the umask's mode; the masked copy keeps it (a temp file
    // is 0600).
    if let Ok(meta) = std::fs::metadata(path) {
        let _ = masked.as_file().set_permissions(meta.permissions());
    }
    masked.persist(path).map_err(|e| e.error).with_context(|| format!("cannot replace {path}"))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_and_kills_at_the_deadline() {
        let dir = tempfile::tempdir().unwrap();
        let cwd = Utf8Path::from_path(dir.path()).unwrap();
        let log = cwd.join("x.log");
        let sh = Tool::find("sh", crate::env::Env::from_process().path()).unwrap();
        let cmd = |args: &[&str], deadline| Cmd {
            tool: &sh,
            args: args.iter().map(|s| s.to_string()).collect(),
            cwd,
            env: vec![("SECRET_X".into(), "ghp_abcdefghijklmnopqrstuvwxyz0123".into())],
            path: None,
            log: &log,
            deadline,
        };
        let far = Instant::now() + Duration::from_secs(30);
        let ran = run(cmd(&["-c", "echo out; echo $SECRET_X >&2; exit 3"], far), &Redactor::default());
        assert_eq!(ran.code, Some(3));
        assert!(ran.output.contains("out") && !ran.output.contains("ghp_abc"), "{}", ran.output);
        let kept = std::fs::read_to_string(ran.log.as_ref().unwrap()).unwrap();
        assert!(kept.contains("out") && !kept.contains("ghp_abc"), "the kept log is masked too: {kept}");
        let start = Instant::now();
        let ran = run(cmd(&["-c", "sleep 20"], Instant::now() + Duration::from_millis(200)), &Redactor::default());
        assert!(ran.timed_out && start.elapsed() < Duration::from_secs(5));
        let missing = Tool { program: "/nonexistent/tool".into(), ..sh.clone() };
        let ran = run(Cmd { tool: &missing, ..cmd(&[], far) }, &Redactor::default());
        assert!(ran.not_started.is_some() && !ran.ok());
    }

    #[test]
    fn a_gigantic_output_is_kept_as_a_bounded_tail() {
        let dir = tempfile::tempdir().unwrap();
        let cwd = Utf8Path::from_path(dir.path()).unwrap();
        let log = cwd.join("big.log");
        let sh = Tool::find("sh", crate::env::Env::from_process().path()).unwrap();
        // 32 MiB without a newline, then a last line.
        let script = "head -c 33554432 /dev/zero | tr '\\0' x; echo; echo the-end";
        let cmd = Cmd {
            tool: &sh,
            args: vec!["-c".into(), script.into()],
            cwd,
            env: vec![],
            path: None,
            log: &log,
            deadline: Instant::now() + Duration::from_secs(60),
        };
        let ran = run(cmd, &Redactor::default());
        assert_eq!(ran.code, Some(0), "{}", ran.output);
        assert!(ran.output.len() <= crate::tail::MAX_TAIL_BYTES, "{}", ran.output.len());
        assert!(ran.output.ends_with("the-end"), "{}", &ran.output[ran.output.len().saturating_sub(100)..]);
        assert!(ran.evidence().to_string().len() < 2 * crate::tail::MAX_TAIL_BYTES);
    }
}
