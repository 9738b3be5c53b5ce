//! Independent pieces of work (requests that do not need each other's answers) run at the same
//! time on scoped threads, with results in the order asked: concurrency never reorders a
//! report. No async runtime: a verify run sends a few dozen requests.

/// Most pieces of one [`map`] running at once: enough for one release's archives, few enough
/// that a long list does not open a connection per item at the same moment.
pub const LIMIT: usize = 8;

/// Runs `a` and `b` at the same time; returns both results.
pub fn join<A: Send, B: Send>(a: impl FnOnce() -> A + Send, b: impl FnOnce() -> B + Send) -> (A, B) {
    std::thread::scope(|scope| {
        let other = scope.spawn(b);
        let first = a();
        // A panic in `b` is resumed here: running it on another thread hides no bug.
        let second = other.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        (first, second)
    })
}

/// `f` of every item, at most [`LIMIT`] at a time, results in the order of `items`.
pub fn map<T: Sync, R: Send>(items: &[T], f: impl Fn(&T) -> R + Sync) -> Vec<R> {
    if items.len() <= 1 {
        return items.iter().map(f).collect();
    }
    let f = &f;
    let mut out = Vec::with_capacity(items.len());
    for chunk in items.chunks(LIMIT) {
        std::thread::scope(|scope| {
            let handles: Vec<_> = chunk.iter().map(|item| scope.spawn(move || f(item))).collect();
            for h in handles {
                out.push(h.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic)));
            }
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, Instant};

    #[test]
    fn results_keep_the_order_asked_and_run_together() {
        let items: Vec<u64> = (0..20).collect();
        let started = Instant::now();
        let out = map(&items, |i| {
            std::thread::sleep(Duration::from_millis(50 - 2 * (i % 8)));
            i * 2
        });
        assert_eq!(out, items.iter().map(|i| i * 2).collect::<Vec<_>>());
        // Three waves of at most 8, not twenty sleeps in a row.
        assert!(started.elapsed() < Duration::from_millis(600), "{:?}", started.elapsed());
        assert_eq!(join(|| 1, || "b"), (1, "b"));
        assert!(map(&[] as &[u8], |_| 0).is_empty());
    }
}
