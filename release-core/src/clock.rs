//! [`Clock`] and calendar dates, without a date-time dependency: the tool needs UTC "today",
//! ISO dates (`2026-07-28`) and UTC timestamps (`2026-07-28T09:15:00Z`), nothing more.
//!
//! The clock also measures elapsed time and sleeps, so every wait loop of the library (verify
//! `--wait`, smoke retries, HTTP backoff, the evidence lock) takes its time from the
//! `Context`: a test drives those loops with a [`ManualClock`] in microseconds.

use std::{
    fmt,
    sync::{Arc, Mutex, PoisonError},
    time::{Duration, Instant, SystemTime, UNIX_EPOCH},
};

use anyhow::bail;

/// Where "now" comes from: the system, a fixed instant, or a manual clock in tests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Clock {
    /// The system clock; sleeps are real.
    System,
    /// The calendar always reads this instant; elapsed time and sleeps are real (the monotonic
    /// clock), so a wait loop under a fixed date still ends.
    Fixed(SystemTime),
    /// Time moves only when slept or advanced, never on its own: waits cost no real time.
    Manual(ManualClock),
}

impl Clock {
    /// A [`ManualClock`] whose calendar starts at `start`.
    pub fn manual(start: SystemTime) -> Clock {
        Clock::Manual(ManualClock::new(start))
    }

    /// The current instant.
    pub fn now(&self) -> SystemTime {
        match self {
            Clock::System => SystemTime::now(),
            Clock::Fixed(t) => *t,
            Clock::Manual(m) => m.start + m.elapsed(),
        }
    }

    /// The current reading of the monotonic clock, for measuring elapsed time and deadlines.
    pub fn instant(&self) -> Instant {
        match self {
            Clock::System | Clock::Fixed(_) => Instant::now(),
            Clock::Manual(m) => m.base + m.elapsed(),
        }
    }

    /// Time passed since `earlier` (an [`Clock::instant`] of this clock); zero if `earlier`
    /// is in the future.
    pub fn elapsed(&self, earlier: Instant) -> Duration {
        self.instant().saturating_duration_since(earlier)
    }

    /// Waits `d`: really for [`Clock::System`] and [`Clock::Fixed`], by moving the time
    /// forward for [`Clock::Manual`].
    pub fn sleep(&self, d: Duration) {
        match self {
            Clock::System | Clock::Fixed(_) => std::thread::sleep(d),
            Clock::Manual(m) => m.sleep(d),
        }
    }

    /// Today's date in UTC.
    pub fn today(&self) -> Date {
        Date::from_days(days_since_epoch(self.now()))
    }

    /// The current instant as `YYYY-MM-DDTHH:MM:SSZ`.
    pub fn timestamp(&self) -> String {
        timestamp(self.now())
    }
}

/// A clock for tests: time starts at a given calendar instant and moves only through
/// [`ManualClock::advance`] or a sleep. Clones share the same time, so the clock in a
/// `Context` and the one a test keeps agree. Sleeps of threads running at the same time add up
/// (there is no parallel time), so drive one waiting thread at a time.
#[derive(Debug, Clone)]
pub struct ManualClock {
    start: SystemTime,
    /// The monotonic reading at creation; instants are `base + elapsed`.
    base: Instant,
    state: Arc<Mutex<ManualState>>,
}

#[derive(Debug, Default)]
struct ManualState {
    elapsed: Duration,
    sleeps: Vec<Duration>,
}

impl ManualClock {
    /// A clock reading `start`, with no time elapsed.
    pub fn new(start: SystemTime) -> ManualClock {
        ManualClock { start, base: Instant::now(), state: Arc::default() }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, ManualState> {
        // The state is two plain values, valid whatever a panicking holder was doing.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Time moved since creation (sleeps plus advances).
    pub fn elapsed(&self) -> Duration {
        self.state().elapsed
    }

    /// Every sleep so far, in order.
    pub fn sleeps(&self) -> Vec<Duration> {
        self.state().sleeps.clone()
    }

    /// Moves the time forward by `d` without counting a sleep.
    pub fn advance(&self, d: Duration) {
        self.state().elapsed += d;
    }

    fn sleep(&self, d: Duration) {
        let mut state = self.state();
        state.elapsed += d;
        state.sleeps.push(d);
    }
}

/// Two manual clocks are equal when they share their time.
impl PartialEq for ManualClock {
    fn eq(&self, other: &ManualClock) -> bool {
        Arc::ptr_eq(&self.state, &other.state)
    }
}

impl Eq for ManualClock {}

/// A calendar date, always valid (construct with [`Date::parse`] or [`Date::new`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Date {
    year: u16,
    month: u8,
    day: u8,
}

impl Date {
    /// A date, if it exists in the Gregorian calendar (years 1..=9999).
    pub fn new(year: u16, month: u8, day: u8) -> anyhow::Result<Date> {
        if !(1..=9999).contains(&year) || !(1..=12).contains(&month) || day == 0 || day > days_in_month(year, month) {
            bail!("{year:04}-{month:02}-{day:02} is not a calendar date");
        }
        Ok(Date { year, month, day })
    }

    /// Parses exactly `YYYY-MM-DD`.
    pub fn parse(text: &str) -> anyhow::Result<Date> {
        let b = text.as_bytes();
        let digits = |r: std::ops::Range<usize>| b[r].iter().all(u8::is_ascii_digit);
        if b.len() != 10 || b[4] != b'-' || b[7] != b'-' || !digits(0..4) || !digits(5..7) || !digits(8..10) {
            bail!("`{text}` is not a date of the form YYYY-MM-DD");
        }
        // The slices are ASCII digits of bounded length (checked above), so these parse.
        let n = |r: std::ops::Range<usize>| text[r].parse::<u16>().unwrap_or(0);
        Date::new(n(0..4), n(5..7) as u8, n(8..10) as u8)
    }

    fn from_days(days: i64) -> Date {
        // Howard Hinnant's civil_from_days.
        let z = days + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z.rem_euclid(146_097);
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let day = (doy - (153 * mp + 2) / 5 + 1) as u8;
        let month = if mp < 10 { mp + 3 } else { mp - 9 } as u8;
        let year = (yoe + era * 400 + i64::from(month <= 2)) as u16;
        Date { year, month, day }
    }
}

impl fmt::Display for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }
}

fn days_in_month(year: u16, month: u8) -> u8 {
    let leap = year.is_multiple_of(4) && (!year.is_multiple_of(100) || year.is_multiple_of(400));
    match month {
        2 if leap => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

fn days_since_epoch(t: SystemTime) -> i64 {
    let secs = match t.duration_since(UNIX_EPOCH) {
        Ok(d) => d.as_secs() as i64,
        Err(e) => -(e.duration().as_secs() as i64) - 1,
    };
    secs.div_euclid(86_400)
}

/// `YYYY-MM-DDTHH:MM:SSZ` in UTC.
pub fn timestamp(t: SystemTime) -> String {
    let secs = t.duration_since(UNIX_EPOCH).unwrap_or(Duration::ZERO).as_secs();
    let date = Date::from_days((secs / 86_400) as i64);
    let rem = secs % 86_400;
    format!("{date}T{:02}:{:02}:{:02}Z", rem / 3600, rem / 60 % 60, rem % 60)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates() {
        assert_eq!(Date::parse("2026-07-28").unwrap().to_string(), "2026-07-28");
        assert!(Date::parse("2024-02-29").is_ok());
        for bad in [
            "2026-02-29",
            "2026-13-01",
            "2026-00-10",
            "2026-04-31",
            "26-07-28",
            "2026-7-28",
            "2026/07/28",
            "2026-07-28 ",
        ] {
            assert!(Date::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn clock_formats_utc() {
        let t = UNIX_EPOCH + Duration::from_secs(1_785_230_100); // 2026-07-28T09:15:00Z
        let clock = Clock::Fixed(t);
        assert_eq!(clock.timestamp(), "2026-07-28T09:15:00Z");
        assert_eq!(clock.today().to_string(), "2026-07-28");
        assert_eq!(Clock::Fixed(UNIX_EPOCH).today().to_string(), "1970-01-01");
        assert_eq!(Date::from_days(11_016).to_string(), "2000-02-29");
    }

    #[test]
    fn manual_clock_moves_only_when_slept() {
        let t = UNIX_EPOCH + Duration::from_secs(1_785_230_100); // 2026-07-28T09:15:00Z
        let clock = Clock::manual(t);
        let Clock::Manual(manual) = clock.clone() else { unreachable!() };
        let start = clock.instant();
        let real = Instant::now();
        clock.sleep(Duration::from_secs(3600));
        clock.clone().sleep(Duration::from_secs(60)); // clones share the time
        manual.advance(Duration::from_secs(1));
        assert!(real.elapsed() < Duration::from_secs(1), "no real sleeping");
        assert_eq!(clock.elapsed(start), Duration::from_secs(3661));
        assert_eq!(manual.sleeps(), [Duration::from_secs(3600), Duration::from_secs(60)]);
        assert_eq!(clock.timestamp(), "2026-07-28T10:16:01Z");
        assert_eq!(clock, Clock::Manual(manual));
        assert_ne!(clock, Clock::manual(t), "another manual clock has its own time");
    }
}
