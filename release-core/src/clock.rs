//! [`Clock`] and calendar dates, without a date-time dependency: the tool needs UTC "today",
//! ISO dates (`2026-07-28`) and UTC timestamps (`2026-07-28T09:15:00Z`), nothing more.

use std::{
    fmt,
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use anyhow::bail;

/// Where "now" comes from: the system, or a fixed instant in tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Clock {
    /// The system clock.
    System,
    /// Always this instant.
    Fixed(SystemTime),
}

impl Clock {
    /// The current instant.
    pub fn now(&self) -> SystemTime {
        match self {
            Clock::System => SystemTime::now(),
            Clock::Fixed(t) => *t,
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
}
