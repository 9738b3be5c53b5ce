//! Running one command gate: no shell, in the repository root, output streamed line by line,
//! the last lines kept (bounded in lines and bytes, long lines cut), a time limit enforced by
//! killing the whole process group.

use std::{
    io::Read,
    process::{Command, Stdio},
    sync::mpsc,
    time::{Duration, Instant},
};

use camino::{Utf8Path, Utf8PathBuf};

/// How many lines of output are kept as evidence.
pub const TAIL_LINES: usize = 40;

/// How a command ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum End {
    /// It exited with this code (`None`: killed by a signal).
    Exited(Option<i32>),
    /// It ran past its time limit and was killed.
    TimedOut(Duration),
    /// The program does not exist (not on PATH, or no such file).
    NotFound(String),
    /// It could not be started for another reason.
    SpawnFailed(String),
}

/// What one run of a command gave.
#[derive(Debug, Clone)]
pub struct Run {
    /// How it ended.
    pub end: End,
    /// The last [`TAIL_LINES`] lines of stdout and stderr, interleaved as they arrived (at most
    /// `crate::tail::MAX_TAIL_BYTES` together, each cut at `crate::tail::MAX_LINE` bytes).
    pub tail: Vec<String>,
    /// Wall time.
    pub elapsed: Duration,
}

/// Options of one run.
pub struct Spec<'a> {
    /// Program and arguments.
    pub argv: &'a [String],
    /// Working directory (the repository root).
    pub dir: &'a Utf8Path,
    /// Time limit.
    pub timeout: Option<Duration>,
    /// How often `on_tick` is called while the command runs.
    pub tick: Duration,
    /// Secret values masked in every line (see `crate::redact`).
    pub redactor: &'a crate::redact::Redactor,
    /// The `PATH` the program is looked up on (the environment's).
    pub path: Option<&'a std::ffi::OsStr>,
}

/// Finds `program` the way a shell would: a path with a `/` is taken relative to `dir`,
/// anything else is looked up on `PATH`. `None` when there is no such executable.
pub fn find_program(program: &str, dir: &Utf8Path, path_var: Option<&std::ffi::OsStr>) -> Option<Utf8PathBuf> {
    if program.contains('/') {
        let candidate = dir.join(program);
        return is_executable(&candidate).then_some(candidate);
    }
    let path_var = path_var?;
    std::env::split_paths(path_var)
        .filter_map(|d| Utf8PathBuf::from_path_buf(d).ok())
        .map(|d| d.join(program))
        .find(|c| is_executable(c))
}

fn is_executable(path: &Utf8Path) -> bool {
    let Ok(meta) = std::fs::metadata(path) else { return false };
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        meta.is_file() && meta.permissions().mode() & 0o111 != 0
    }
    #[cfg(not(unix))]
    {
        meta.is_file()
    }
}

/// What a running command reports.
#[derive(Debug, Clone, Copy)]
pub enum Event<'a> {
    /// One line of output (secrets removed).
    Line(&'a str),
    /// Still running after this long (every `spec.tick`).
    Tick(Duration),
}

/// Runs the command, calling `on_event` for each output line and every `spec.tick`.
pub fn run(spec: &Spec<'_>, on_event: &mut dyn FnMut(Event<'_>)) -> Run {
    let start = Instant::now();
    let done = |end: End, tail: Vec<String>| Run { end, tail, elapsed: start.elapsed() };
    let Some((program, args)) = spec.argv.split_first() else {
        return done(End::SpawnFailed("empty command".into()), Vec::new());
    };
    let Some(resolved) = find_program(program, spec.dir, spec.path) else {
        return done(End::NotFound(program.clone()), Vec::new());
    };
    let mut command = Command::new(resolved.as_std_path());
    command.args(args).current_dir(spec.dir).stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped());
    // A `cargo xtask release` inside a gate leaves the step summary and annotations to us.
    command.env(crate::env::NESTED, "1");
    #[cfg(unix)]
    {
        use std::os::unix::process::CommandExt;
        // Its own process group, so a timeout can kill everything the gate started.
        command.process_group(0);
    }
    let mut child = match command.spawn() {
        Ok(c) => c,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return done(End::NotFound(program.clone()), vec![]),
        Err(e) => return done(End::SpawnFailed(format!("cannot start `{program}`: {e}")), Vec::new()),
    };
    // Bounded: a gate that prints faster than lines are redacted waits for the reader instead
    // of piling lines up in memory. Each line says which stream it came from.
    let (tx, rx) = mpsc::sync_channel::<(usize, String)>(256);
    let mut readers = Vec::new();
    if let Some(out) = child.stdout.take() {
        readers.push(spawn_reader(out, 0, tx.clone()));
    }
    if let Some(err) = child.stderr.take() {
        readers.push(spawn_reader(err, 1, tx.clone()));
    }
    drop(tx);

    let mut tail = crate::tail::Tail::new(TAIL_LINES, crate::tail::MAX_TAIL_BYTES);
    // Lines that may start a secret folded over lines are held until the next shows. One
    // redactor per stream: a secret folded over stdout lines stays whole however stderr lines
    // fall between them (on a busy machine they do), and a stderr line cannot release a held
    // stdout piece.
    let mut redactors = [
        crate::redact::LineRedactor::new(spec.redactor.clone()),
        crate::redact::LineRedactor::new(spec.redactor.clone()),
    ];
    let mut keep = |line: Option<(usize, String)>, on_event: &mut dyn FnMut(Event<'_>)| {
        let ready = match line {
            Some((stream, line)) => redactors[stream].push(line),
            None => redactors.iter_mut().flat_map(|r| r.flush()).collect(),
        };
        for line in ready {
            on_event(Event::Line(&line));
            tail.push(line);
        }
    };
    let mut next_tick = spec.tick;
    let mut exited: Option<(End, Instant)> = None;
    loop {
        match rx.recv_timeout(Duration::from_millis(20)) {
            Ok(line) => {
                keep(Some(line), on_event);
                continue;
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => {
                if exited.is_some() {
                    break;
                }
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {}
        }
        if let Some((_, at)) = &exited {
            // Output pipes can stay open in grandchildren that outlive the gate; stop
            // listening a little after the gate itself ended.
            if at.elapsed() > Duration::from_secs(2) {
                break;
            }
            continue;
        }
        match child.try_wait() {
            Ok(Some(status)) => {
                // Whatever the gate left running (a background edit, a server) ends with it:
                // nothing it started may change the tree after the check.
                end_group(child.id());
                exited = Some((End::Exited(status.code()), Instant::now()));
                continue;
            }
            Ok(None) => {}
            Err(e) => {
                kill_group(&mut child);
                exited = Some((End::SpawnFailed(format!("cannot wait for `{program}`: {e}")), Instant::now()));
                continue;
            }
        }
        let elapsed = start.elapsed();
        if let Some(limit) = spec.timeout
            && elapsed >= limit
        {
            kill_group(&mut child);
            exited = Some((End::TimedOut(limit), Instant::now()));
            continue;
        }
        if !spec.tick.is_zero() && elapsed >= next_tick {
            on_event(Event::Tick(elapsed));
            next_tick += spec.tick;
        }
    }
    // Readers of killed processes end once the pipes close; those held open by stray
    // grandchildren are left to finish on their own rather than block the report.
    for r in readers {
        if r.is_finished() {
            let _ = r.join();
        }
    }
    keep(None, on_event);
    end_group(child.id());
    let end = exited.map_or(End::Exited(None), |(end, _)| end);
    done(end, tail.into_lines())
}

fn spawn_reader(
    stream: impl Read + Send + 'static,
    index: usize,
    tx: mpsc::SyncSender<(usize, String)>,
) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || crate::tail::read_lines(stream, |line| tx.send((index, line)).is_ok()))
}

/// Kills every process left in the gate's group. Safe after the leader was reaped: the group
/// id stays taken (and cannot be reused as a pid) while any member lives; with none left,
/// kill(2) fails with ESRCH, which is the wanted state.
fn end_group(pid: u32) {
    #[cfg(unix)]
    if let Ok(pid) = i32::try_from(pid)
        && pid > 0
    {
        // SAFETY: kill(2) with a negative pid signals the process group we created for this
        // child (process_group(0) made its pgid equal to its pid); it touches no memory.
        unsafe {
            libc::kill(-pid, libc::SIGKILL);
        }
    }
    #[cfg(not(unix))]
    let _ = pid;
}

fn kill_group(child: &mut std::process::Child) {
    end_group(child.id());
    let _ = child.kill();
    let _ = child.wait();
}

#[cfg(test)]
mod tests {
    use super::*;

    fn argv(a: &[&str]) -> Vec<String> {
        a.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn finds_programs_on_path_and_relative() {
        let dir = Utf8Path::new("/");
        let path = crate::env::Env::from_process().path().map(std::ffi::OsStr::to_owned);
        assert!(find_program("git", dir, path.as_deref()).is_some());
        assert!(find_program("no-such-tool-release-core", dir, path.as_deref()).is_none());
        assert!(find_program("./no-such-script", dir, path.as_deref()).is_none());
    }

    #[test]
    fn exit_codes_and_tail() {
        let dir = Utf8Path::new(".");
        let env = crate::env::Env::from_process();
        let path = env.path();
        let cmd = argv(&["git", "--version"]);
        let spec = Spec { argv: &cmd, dir, timeout: None, tick: Duration::ZERO, redactor: &Default::default(), path };
        let run = run(&spec, &mut |_| {});
        assert_eq!(run.end, End::Exited(Some(0)));
        assert!(run.tail.iter().any(|l| l.starts_with("git version")), "{:?}", run.tail);
        let cmd = argv(&["no-such-tool-release-core"]);
        let spec = Spec { argv: &cmd, dir, timeout: None, tick: Duration::ZERO, redactor: &Default::default(), path };
        assert_eq!(super::run(&spec, &mut |_| {}).end, End::NotFound("no-such-tool-release-core".into()));
    }

    #[cfg(unix)]
    #[test]
    fn a_secret_folded_over_stdout_stays_masked_when_stderr_lines_fall_between() {
        // The stderr line is written after the first stdout piece and before the rest (the
        // pause makes the order certain): one redactor over the merged lines would see the
        // pieces apart and mask none of them.
        let secret = "Zq7c4naryXw93kLm0pQ2vB8d";
        let script =
            "printf 'leak: Zq7c\\n'; sleep 0.2; echo 'plain line' >&2; sleep 0.2; printf '4naryXw93k\\nLm0pQ2vB8d\\n'";
        let cmd = argv(&["sh", "-c", script]);
        let env = crate::env::Env::from_process();
        let redactor = crate::redact::Redactor::new(&[secret.to_string()]);
        let spec = Spec {
            argv: &cmd,
            dir: Utf8Path::new("."),
            timeout: None,
            tick: Duration::ZERO,
            redactor: &redactor,
            path: env.path(),
        };
        let mut lines = Vec::new();
        let run = run(&spec, &mut |e| {
            if let Event::Line(line) = e {
                lines.push(line.to_string())
            }
        });
        assert_eq!(run.end, End::Exited(Some(0)));
        for text in [run.tail.join("\n"), lines.join("\n")] {
            for piece in ["Zq7c", "4naryXw93k", "Lm0pQ2vB8d"] {
                assert!(!text.contains(piece), "`{piece}` leaked: {text}");
            }
            assert!(text.contains("plain line") && text.contains("[REDACTED]"), "{text}");
        }
    }

    #[cfg(unix)]
    #[test]
    fn timeout_kills() {
        let cmd = argv(&["sleep", "5"]);
        let env = crate::env::Env::from_process();
        let spec = Spec {
            argv: &cmd,
            dir: Utf8Path::new("."),
            timeout: Some(Duration::from_millis(200)),
            tick: Duration::from_millis(50),
            redactor: &Default::default(),
            path: env.path(),
        };
        let mut ticks = 0;
        let run = run(&spec, &mut |e| {
            if let Event::Tick(_) = e {
                ticks += 1
            }
        });
        assert_eq!(run.end, End::TimedOut(Duration::from_millis(200)));
        assert!(run.elapsed < Duration::from_secs(3), "{:?}", run.elapsed);
        assert!(ticks >= 1);
    }

    #[cfg(unix)]
    #[test]
    fn a_huge_output_without_newlines_is_kept_as_a_bounded_tail() {
        // 32 MiB without a newline, then 100 short lines.
        let script = "head -c 33554432 /dev/zero | tr '\\0' x; echo; for i in $(seq 1 100); do echo line $i; done";
        let cmd = argv(&["sh", "-c", script]);
        let env = crate::env::Env::from_process();
        let spec = Spec {
            argv: &cmd,
            dir: Utf8Path::new("."),
            timeout: None,
            tick: Duration::ZERO,
            redactor: &Default::default(),
            path: env.path(),
        };
        let (mut seen, mut longest) = (0, 0);
        let run = run(&spec, &mut |e| {
            if let Event::Line(l) = e {
                seen += 1;
                longest = longest.max(l.len());
            }
        });
        assert_eq!(run.end, End::Exited(Some(0)));
        assert_eq!(seen, 101, "every line reaches the observer");
        assert!(longest < crate::tail::MAX_LINE + 64, "the long line is cut: {longest}");
        assert_eq!(run.tail.len(), TAIL_LINES);
        assert_eq!(run.tail.last().map(String::as_str), Some("line 100"));
        assert!(run.tail.iter().map(String::len).sum::<usize>() <= crate::tail::MAX_TAIL_BYTES);
    }
}
