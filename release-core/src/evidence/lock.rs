//! The evidence lock: an exclusive lock file made with `create_new`, holding the holder's
//! pid, time and a unique token; stale when the pid is gone or the file is old.

use std::{
    fs,
    io::Write,
    time::{Duration, SystemTime},
};

use anyhow::{Context as _, bail};
use camino::{Utf8Path, Utf8PathBuf};

use super::{LOCK_WAIT, STALE_AFTER};
use crate::clock::Clock;

/// An exclusive lock file, removed on drop.
#[derive(Debug)]
pub struct Lock {
    path: Utf8PathBuf,
    token: String,
}

impl Lock {
    /// Takes the lock at `path`, waiting up to [`LOCK_WAIT`] for a live holder and taking
    /// over a stale one (dead pid, or older than [`STALE_AFTER`]). The wait runs on `clock`.
    pub fn acquire(path: &Utf8Path, clock: &Clock) -> anyhow::Result<Lock> {
        let start = clock.instant();
        let token = format!("{} {} {}", std::process::id(), clock.timestamp(), unique());
        let mut pause = Duration::from_millis(5);
        loop {
            match fs::OpenOptions::new().write(true).create_new(true).open(path) {
                Ok(mut file) => {
                    file.write_all(token.as_bytes()).with_context(|| format!("cannot write lock {path}"))?;
                    return Ok(Lock { path: path.to_owned(), token });
                }
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
                Err(e) => return Err(e).with_context(|| format!("cannot create lock {path}")),
            }
            if let Some(why) = stale(path) {
                take_over(path, &why);
                continue;
            }
            if clock.elapsed(start) > LOCK_WAIT {
                let holder = fs::read_to_string(path).unwrap_or_default();
                bail!(
                    "{path} is held by another command (pid {}) for more than {}s; if no release command is running, delete it",
                    holder.split_whitespace().next().unwrap_or("?"),
                    LOCK_WAIT.as_secs()
                );
            }
            clock.sleep(pause);
            pause = (pause * 2).min(Duration::from_millis(100));
        }
    }
}

impl Drop for Lock {
    fn drop(&mut self) {
        // Remove only our own lock: a holder that was taken over as stale must not remove
        // the lock of the process that took over.
        if fs::read_to_string(&self.path).is_ok_and(|t| t == self.token) {
            let _ = fs::remove_file(&self.path);
        }
    }
}

fn unique() -> u128 {
    SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0)
}

/// Why the lock at `path` is stale, or `None` if it is live (or vanished meanwhile).
fn stale(path: &Utf8Path) -> Option<String> {
    let meta = fs::metadata(path).ok()?;
    let age = meta.modified().ok().and_then(|m| m.elapsed().ok()).unwrap_or_default();
    if age > STALE_AFTER {
        return Some(format!("older than {}s", STALE_AFTER.as_secs()));
    }
    let text = fs::read_to_string(path).ok()?;
    let Some(pid) = text.split_whitespace().next() else {
        // Created but not written yet by a live process, or left empty by a killed one.
        return (age > Duration::from_secs(2)).then(|| "empty".into());
    };
    let pid: i32 = pid.parse().ok()?;
    (!pid_alive(pid)).then(|| format!("pid {pid} is gone"))
}

#[cfg(unix)]
fn pid_alive(pid: i32) -> bool {
    if pid <= 0 {
        return false;
    }
    // SAFETY: kill(2) with signal 0 only checks that the process exists; nothing is sent.
    let r = unsafe { libc::kill(pid, 0) };
    r == 0 || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
}

#[cfg(not(unix))]
fn pid_alive(_pid: i32) -> bool {
    true
}

/// Removes a stale lock by renaming it aside first: the rename succeeds for one taker only,
/// and a lock that became live between the check and the rename is put back.
fn take_over(path: &Utf8Path, _why: &str) {
    let aside = Utf8PathBuf::from(format!("{path}.stale-{}-{}", std::process::id(), unique()));
    if fs::rename(path, &aside).is_err() {
        return;
    }
    if stale(&aside).is_none() {
        // It was a fresh lock: give it back unless someone else took the slot meanwhile.
        if fs::hard_link(&aside, path).is_err() {
            // Two locks would now exist; the newer one wins and this holder's drop check
            // (by token) keeps it from removing the other's.
        }
    }
    let _ = fs::remove_file(&aside);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(unix)]
    #[test]
    fn dead_pid_lock_is_stale_live_one_is_not() {
        let dir = tempfile::tempdir().unwrap();
        let path = Utf8PathBuf::from_path_buf(dir.path().join("x.lock")).unwrap();
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let dead = child.id();
        child.wait().unwrap();
        fs::write(&path, format!("{dead} 2026-01-01T00:00:00Z 1")).unwrap();
        assert!(stale(&path).is_some());
        let lock = Lock::acquire(&path, &Clock::System).unwrap();
        assert!(stale(&path).is_none(), "our own lock is live");
        drop(lock);
        assert!(!path.exists());
    }

    #[test]
    fn waiting_for_a_live_lock_runs_on_the_clock() {
        let dir = tempfile::tempdir().unwrap();
        let path = Utf8PathBuf::from_path_buf(dir.path().join("x.lock")).unwrap();
        fs::write(&path, format!("{} 2026-01-01T00:00:00Z 1", std::process::id())).unwrap();
        let clock = Clock::manual(SystemTime::UNIX_EPOCH);
        let Clock::Manual(manual) = clock.clone() else { unreachable!() };
        let real = std::time::Instant::now();
        let err = Lock::acquire(&path, &clock).unwrap_err().to_string();
        assert!(err.contains("held by another command"), "{err}");
        assert!(manual.elapsed() > LOCK_WAIT && manual.elapsed() <= LOCK_WAIT + Duration::from_millis(100));
        assert!(real.elapsed() < Duration::from_secs(5), "no real waiting: {:?}", real.elapsed());
        assert!(path.exists(), "the live holder's lock is left alone");
    }
}
