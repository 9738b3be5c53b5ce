//! The evidence lock: an operating-system file lock (`flock(2)`) on `…json.lock`. Through
//! libc rather than `File::try_lock`, which needs Rust 1.89: the tool builds with the 1.88
//! toolchain plasmite pins. Off Unix, taking the lock is an error (fail closed).
//!
//! The kernel holds the lock for exactly as long as the holder's file is open: a holder that
//! is paused (stopped, swapped out, debugged) keeps it however long the pause, and a holder
//! that dies loses it at once. Nothing is judged stale by age or pid, so a slow writer can
//! never be "taken over" and lose another writer's update, and a lock file that a full disk
//! left empty (or a killed holder left behind) is just a file nobody locks.
//!
//! On Unix the holder removes the file before it lets go, and a taker checks after locking
//! that the file it locked is still the one at the path (same device and inode); if it is
//! not, the file was removed under it and it locks again. That keeps "no lock file left
//! behind" without two holders ever locking two different files.

use std::{fs, io::Write, time::Duration};

use anyhow::{Context as _, bail};
use camino::{Utf8Path, Utf8PathBuf};

use super::LOCK_WAIT;
use crate::clock::Clock;

/// An exclusive lock on a file, released (and the file removed) on drop.
#[derive(Debug)]
pub struct Lock {
    path: Utf8PathBuf,
    file: fs::File,
}

impl Lock {
    /// Takes the lock at `path`, waiting up to [`LOCK_WAIT`] (on `clock`) for a live holder.
    pub fn acquire(path: &Utf8Path, clock: &Clock) -> anyhow::Result<Lock> {
        Lock::acquire_within(path, clock, LOCK_WAIT)
    }

    /// As [`Lock::acquire`], waiting up to `wait`.
    pub fn acquire_within(path: &Utf8Path, clock: &Clock, wait: Duration) -> anyhow::Result<Lock> {
        let start = clock.instant();
        let mut pause = Duration::from_millis(5);
        loop {
            let file = fs::OpenOptions::new()
                .read(true)
                .write(true)
                .create(true)
                .truncate(false)
                .open(path)
                .with_context(|| format!("cannot open lock {path}"))?;
            match try_lock(&file).with_context(|| format!("cannot lock {path}"))? {
                true if same_file_at(&file, path) => {
                    let mut lock = Lock { path: path.to_owned(), file };
                    lock.note_holder(clock);
                    return Ok(lock);
                }
                // Locked a file the previous holder had already removed: lock the new one.
                true => continue,
                false => {}
            }
            drop(file);
            if clock.elapsed(start) > wait {
                let holder = fs::read_to_string(path).unwrap_or_default();
                let holder = holder.split_whitespace().next().unwrap_or("?");
                bail!(
                    "{path} is locked by another release command (pid {holder}) for more than {}s; wait for it to finish, then run this again",
                    wait.as_secs()
                );
            }
            clock.sleep(pause);
            pause = (pause * 2).min(Duration::from_millis(100));
        }
    }

    /// Writes `pid time` into the lock file, for the message a waiter shows. Best effort: the
    /// lock is the kernel's, not the content, so a full disk that leaves it empty changes nothing.
    fn note_holder(&mut self, clock: &Clock) {
        let note = format!("{} {}\n", std::process::id(), clock.timestamp());
        let _ = self.file.set_len(0).and_then(|()| self.file.write_all(note.as_bytes()));
    }
}

impl Drop for Lock {
    fn drop(&mut self) {
        // Remove the file while still holding the lock (see the module docs); the lock itself
        // goes when `file` closes.
        #[cfg(unix)]
        let _ = fs::remove_file(&self.path);
    }
}

/// Takes an exclusive lock on `file` without waiting: `Ok(false)` when another holds it. The
/// lock goes when the file is closed.
#[cfg(unix)]
fn try_lock(file: &fs::File) -> std::io::Result<bool> {
    use std::os::fd::AsRawFd;
    // SAFETY: flock(2) on a descriptor this `File` owns and keeps open for the call; it
    // touches no memory.
    if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } == 0 {
        return Ok(true);
    }
    let e = std::io::Error::last_os_error();
    if e.kind() == std::io::ErrorKind::WouldBlock { Ok(false) } else { Err(e) }
}

#[cfg(not(unix))]
fn try_lock(_file: &fs::File) -> std::io::Result<bool> {
    Err(std::io::Error::other("the evidence record needs flock(2): run release commands on Linux or macOS"))
}

/// Whether `file` is still the file at `path` (it was not removed and replaced meanwhile).
#[cfg(unix)]
fn same_file_at(file: &fs::File, path: &Utf8Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    match (file.metadata(), fs::metadata(path)) {
        (Ok(a), Ok(b)) => a.dev() == b.dev() && a.ino() == b.ino(),
        _ => false,
    }
}

/// Windows does not let a holder remove an open file, so the lock file stays and is always
/// the same file.
#[cfg(not(unix))]
fn same_file_at(_file: &fs::File, _path: &Utf8Path) -> bool {
    true
}

#[cfg(test)]
mod tests {
    use std::time::SystemTime;

    use super::*;

    fn lock_path(dir: &tempfile::TempDir) -> Utf8PathBuf {
        Utf8PathBuf::from_path_buf(dir.path().join("x.lock")).unwrap()
    }

    #[test]
    fn a_left_over_or_empty_lock_file_does_not_block() {
        let dir = tempfile::tempdir().unwrap();
        let path = lock_path(&dir);
        // What a killed holder, or a full disk, leaves: a file nobody holds.
        fs::write(&path, "").unwrap();
        let clock = Clock::manual(SystemTime::UNIX_EPOCH);
        let lock = Lock::acquire(&path, &clock).unwrap();
        drop(lock);
        assert!(!path.exists() || cfg!(not(unix)), "the holder removes its lock file");
        fs::write(&path, "12345 2026-01-01T00:00:00Z 1").unwrap();
        Lock::acquire(&path, &clock).unwrap();
    }

    #[test]
    fn a_held_lock_is_never_taken_over_however_long_the_pause() {
        let dir = tempfile::tempdir().unwrap();
        let path = lock_path(&dir);
        let held = Lock::acquire(&path, &Clock::System).unwrap();
        let clock = Clock::manual(SystemTime::UNIX_EPOCH);
        let Clock::Manual(manual) = clock.clone() else { unreachable!() };
        let real = std::time::Instant::now();
        let err = Lock::acquire(&path, &clock).unwrap_err().to_string();
        assert!(err.contains("locked by another release command"), "{err}");
        assert!(manual.elapsed() > LOCK_WAIT && manual.elapsed() <= LOCK_WAIT + Duration::from_millis(100));
        assert!(real.elapsed() < Duration::from_secs(5), "no real waiting: {:?}", real.elapsed());
        // The holder stays paused well past the 60 s the old pid/age lock called stale.
        manual.advance(Duration::from_secs(65));
        assert!(Lock::acquire(&path, &clock).is_err(), "still held after a 65 s pause");
        drop(held);
        Lock::acquire(&path, &clock).unwrap();
    }

    #[test]
    fn a_waiter_gets_the_lock_when_the_holder_lets_go() {
        let dir = tempfile::tempdir().unwrap();
        let path = lock_path(&dir);
        let held = Lock::acquire(&path, &Clock::System).unwrap();
        std::thread::scope(|s| {
            let waiter = s.spawn(|| Lock::acquire(&path, &Clock::System).map(|_| ()));
            std::thread::sleep(Duration::from_millis(200));
            drop(held);
            waiter.join().unwrap().unwrap();
        });
    }
}
