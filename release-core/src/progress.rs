//! Progress of long work as values: what a command is doing (`Verifying`, `Waiting`,
//! `Retrying`, ...), sent from whichever thread does it and delivered to the command's
//! observer on the thread that called the command. The library prints nothing; the command
//! line turns each [`Progress`] into a cargo-style status line on stderr.
//!
//! Work that runs on several threads (verify's channels, their HTTP requests) holds a
//! [`Reporter`], a cheap clonable sender; [`relay`] runs such work and hands every event to
//! a `&mut` callback as it comes, so observers need not be thread-safe.

use std::{sync::mpsc, time::Duration};

/// One thing worth telling the operator while a command runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Progress {
    /// A piece of work starts: `verb` says what is done (`Verifying`, `Building`,
    /// `Installing`), `what` to what (`crates v1.2.1`).
    Step {
        /// One capitalized word.
        verb: &'static str,
        /// The rest of the line.
        what: String,
    },
    /// `verify --wait`: round `round` starts after `delay`, because `missing` do not pass yet.
    Round {
        /// The round about to run (2 for the first re-check).
        round: u32,
        /// The legs still missing (`crates`, `ci`), in report order.
        missing: Vec<String>,
        /// Time spent waiting so far.
        elapsed: Duration,
        /// The whole `--wait` budget.
        budget: Duration,
        /// The pause before the round.
        delay: Duration,
    },
    /// An HTTP request is sent (one per attempt and redirect hop): shown with `-v`.
    Request {
        /// `GET` or `POST`.
        method: &'static str,
        /// The URL (never holds a token: tokens travel in headers).
        url: String,
    },
    /// An HTTP request failed in a way worth another attempt, which follows after `wait`.
    Retry {
        /// `GET`.
        method: &'static str,
        /// The URL.
        url: String,
        /// Why: the status (`503`) or the transport error.
        why: String,
        /// The attempt about to be made (2 for the first retry).
        attempt: u32,
        /// Attempts in all.
        attempts: u32,
        /// The pause before it.
        wait: Duration,
    },
}

/// Where progress goes: a sender to a [`relay`], or nowhere. Clones send to the same place.
#[derive(Debug, Clone, Default)]
pub struct Reporter(Option<mpsc::Sender<Progress>>);

impl Reporter {
    /// A reporter that drops everything.
    pub fn none() -> Reporter {
        Reporter(None)
    }

    /// Sends `event`; a relay that stopped listening is not an error (progress is advisory).
    pub fn send(&self, event: Progress) {
        if let Some(tx) = &self.0 {
            let _ = tx.send(event);
        }
    }

    /// Whether events go anywhere (to skip building ones nobody reads).
    pub fn is_listening(&self) -> bool {
        self.0.is_some()
    }
}

/// Runs `work` on a scoped thread with a [`Reporter`], and hands each event it (or any thread
/// it starts) sends to `each`, on the calling thread, as they come. Returns what `work`
/// returned, once every clone of the reporter is gone (they live inside `work`).
///
/// A panic in `work` is resumed here: progress never hides a bug.
pub fn relay<T: Send>(each: &mut dyn FnMut(&Progress), work: impl FnOnce(Reporter) -> T + Send) -> T {
    let (tx, rx) = mpsc::channel();
    std::thread::scope(|scope| {
        let handle = scope.spawn(move || work(Reporter(Some(tx))));
        // Ends when the last sender is dropped: when `work` has returned (or unwound).
        for event in rx {
            each(&event);
        }
        match handle.join() {
            Ok(value) => value,
            Err(panic) => std::panic::resume_unwind(panic),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relay_delivers_events_from_every_thread_in_send_order_per_thread() {
        let mut seen = Vec::new();
        let value = relay(&mut |e| seen.push(e.clone()), |reporter| {
            std::thread::scope(|s| {
                for i in 0..3 {
                    let r = reporter.clone();
                    s.spawn(move || r.send(Progress::Step { verb: "Doing", what: format!("{i}") }));
                }
            });
            reporter.send(Progress::Step { verb: "Done", what: String::new() });
            42
        });
        assert_eq!(value, 42);
        assert_eq!(seen.len(), 4);
        assert_eq!(seen[3], Progress::Step { verb: "Done", what: String::new() });
        Reporter::none().send(Progress::Step { verb: "Ignored", what: String::new() });
        assert!(!Reporter::none().is_listening());
    }
}
