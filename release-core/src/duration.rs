//! Durations as people write them in flags and policies: `90s`, `20m`, `1h30m`.

use std::time::Duration;

use anyhow::bail;

/// Parses a sequence of `<number><unit>` parts, units `h`, `m`, `s` (and `ms`), each at most once
/// and in that order. A bare number is rejected: the unit must be said.
pub fn parse(text: &str) -> anyhow::Result<Duration> {
    let mut total = Duration::ZERO;
    let mut rest = text.trim();
    let mut last_rank = 0;
    if rest.is_empty() {
        bail!("empty duration: write e.g. 90s, 20m or 1h30m");
    }
    while !rest.is_empty() {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 || digits > 9 {
            bail!("`{text}` is not a duration: write e.g. 90s, 20m or 1h30m");
        }
        let number: u64 = rest[..digits].parse()?;
        rest = &rest[digits..];
        let (unit, rank, len) = if rest.starts_with("ms") {
            (Duration::from_millis(number), 4, 2)
        } else if rest.starts_with('h') {
            (Duration::from_secs(number * 3600), 1, 1)
        } else if rest.starts_with('m') {
            (Duration::from_secs(number * 60), 2, 1)
        } else if rest.starts_with('s') {
            (Duration::from_secs(number), 3, 1)
        } else {
            bail!("`{text}` needs a unit after {number}: h, m, s or ms");
        };
        if rank <= last_rank {
            bail!("`{text}`: units must appear once each, largest first");
        }
        last_rank = rank;
        total += unit;
        rest = &rest[len..];
    }
    Ok(total)
}

/// Formats a duration the way [`parse`] reads it, to the second (or ms below one second).
pub fn format(d: Duration) -> String {
    let secs = d.as_secs();
    if secs == 0 {
        return format!("{}ms", d.as_millis());
    }
    let (h, m, s) = (secs / 3600, secs / 60 % 60, secs % 60);
    let mut out = String::new();
    if h > 0 {
        out += &format!("{h}h");
    }
    if m > 0 {
        out += &format!("{m}m");
    }
    if s > 0 || out.is_empty() {
        out += &format!("{s}s");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_formats() {
        assert_eq!(parse("90s").unwrap(), Duration::from_secs(90));
        assert_eq!(parse("20m").unwrap(), Duration::from_secs(1200));
        assert_eq!(parse("1h30m").unwrap(), Duration::from_secs(5400));
        assert_eq!(parse("250ms").unwrap(), Duration::from_millis(250));
        assert_eq!(format(Duration::from_secs(5400)), "1h30m");
        assert_eq!(format(Duration::from_millis(20)), "20ms");
        for bad in ["", "20", "m", "1m1h", "1m1m", "-1s", "1.5m", "1 m", "9999999999s"] {
            assert!(parse(bad).is_err(), "{bad:?}");
        }
    }
}
