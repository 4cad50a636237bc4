//! UTC calendar dates from Unix time, and the RFC 3339 strings made from
//! them, without a date crate: the runtime binary's start time and peak
//! memory are benchmarked, and it needs only this much (runc's state
//! `created`, logrus' log `time`, docker's `CreatedAt`).
//!
//! The conversions are Howard Hinnant's `civil_from_days` and
//! `days_from_civil` (proleptic Gregorian calendar, exact for every `i64`
//! day count that fits a year in `i64`), written once here for every crate.
//!
//! Also Go's duration strings ([`parse_go_duration`]: `30s`, `1m30s`,
//! `500ms`), for the engine's flags and the runtime's `events --interval`.

use std::time::{SystemTime, UNIX_EPOCH};

/// A UTC date and time of day, broken down.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Utc {
    pub year: i64,
    /// 1 to 12.
    pub month: u32,
    /// 1 to 31.
    pub day: u32,
    pub hour: u32,
    pub minute: u32,
    pub second: u32,
    /// 0 to 999 999 999.
    pub nanos: u32,
}

impl Utc {
    /// The time `secs` seconds (and `nanos` nanoseconds) after the Unix
    /// epoch; negative `secs` are before it.
    pub fn from_unix(secs: i64, nanos: u32) -> Utc {
        let (year, month, day) = civil_from_days(secs.div_euclid(86_400));
        let tod = secs.rem_euclid(86_400) as u32;
        Utc {
            year,
            month,
            day,
            hour: tod / 3600,
            minute: tod / 60 % 60,
            second: tod % 60,
            nanos,
        }
    }

    /// A `SystemTime` (times before the epoch count as the epoch, as a
    /// clock set before 1970 is not worth an error).
    pub fn from_system(t: SystemTime) -> Utc {
        let d = t.duration_since(UNIX_EPOCH).unwrap_or_default();
        Utc::from_unix(d.as_secs() as i64, d.subsec_nanos())
    }

    /// `YYYY-MM-DD`.
    pub fn date(&self) -> String {
        format!("{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }

    /// `HH:MM:SS`.
    pub fn clock(&self) -> String {
        format!("{:02}:{:02}:{:02}", self.hour, self.minute, self.second)
    }

    /// RFC 3339 with a `Z`: `2024-05-01T12:00:00Z`, or with `nanos`
    /// nine fraction digits, `2024-05-01T12:00:00.000000005Z` (the shape
    /// runc's state `created` has).
    pub fn rfc3339(&self, nanos: bool) -> String {
        if nanos {
            format!("{}T{}.{:09}Z", self.date(), self.clock(), self.nanos)
        } else {
            format!("{}T{}Z", self.date(), self.clock())
        }
    }
}

/// `t` as RFC 3339 in UTC (see [`Utc::rfc3339`]).
pub fn rfc3339(t: SystemTime, nanos: bool) -> String {
    Utc::from_system(t).rfc3339(nanos)
}

/// Days since 1970-01-01 → (year, month 1-12, day 1-31).
pub fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(month <= 2), month, day)
}

/// (year, month 1-12, day 1-31) → days since 1970-01-01. Nothing is
/// checked: a day past the month's end counts on into the next month, a
/// month outside 1-12 gives a meaningless day (callers check what they
/// parse).
pub fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let (m, d) = (i64::from(month), i64::from(day));
    let y = if m <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Go's `time.ParseDuration` grammar: one or more `<number><unit>` pairs,
/// units `ns us µs ms s m h`, decimals allowed (`1.5s`); a bare `0` is
/// zero. The error says what is wrong, for the caller to put after the
/// option's name.
pub fn parse_go_duration(s: &str) -> Result<std::time::Duration, &'static str> {
    let t = s.trim();
    if t.is_empty() {
        return Err("empty duration");
    }
    if t == "0" {
        return Ok(std::time::Duration::ZERO);
    }
    if t.starts_with('-') {
        return Err("negative duration");
    }
    let mut total: f64 = 0.0;
    let mut rest = t;
    while !rest.is_empty() {
        let num_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .ok_or("missing unit (use ms, s, m or h, e.g. 30s)")?;
        if num_len == 0 {
            return Err("expected a number");
        }
        let n: f64 = rest[..num_len].parse().map_err(|_| "bad number")?;
        rest = &rest[num_len..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let unit = &rest[..unit_len];
        rest = &rest[unit_len..];
        let scale = match unit {
            "ns" => 1e-9,
            "us" | "µs" => 1e-6,
            "ms" => 1e-3,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            _ => return Err("unknown unit (use ms, s, m or h)"),
        };
        total += n * scale;
    }
    if !total.is_finite() || total > 1e12 {
        return Err("too large");
    }
    Ok(std::time::Duration::from_secs_f64(total))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn formats_rfc3339_with_and_without_nanos() {
        // Nanoseconds in hundreds: Windows' SystemTime counts 100 ns ticks.
        let at = |s: u64, n: u32| UNIX_EPOCH + Duration::new(s, n);
        assert_eq!(rfc3339(at(0, 0), true), "1970-01-01T00:00:00.000000000Z");
        assert_eq!(rfc3339(at(0, 0), false), "1970-01-01T00:00:00Z");
        assert_eq!(
            rfc3339(at(951_827_696, 500), true),
            "2000-02-29T12:34:56.000000500Z"
        );
        assert_eq!(rfc3339(at(951_827_696, 500), false), "2000-02-29T12:34:56Z");
        assert_eq!(
            rfc3339(at(1_735_689_599, 999_999_900), true),
            "2024-12-31T23:59:59.999999900Z"
        );
        // Before the epoch: clamped to it.
        assert_eq!(
            rfc3339(UNIX_EPOCH - Duration::from_secs(5), false),
            "1970-01-01T00:00:00Z"
        );
    }

    #[test]
    fn breaks_down_negative_and_far_times() {
        let u = Utc::from_unix(-1, 0);
        assert_eq!(
            (u.date(), u.clock()),
            ("1969-12-31".into(), "23:59:59".into())
        );
        // 1900 is not a leap year, 2000 is, 2100 is not.
        assert_eq!(
            civil_from_days(days_from_civil(1900, 3, 1) - 1),
            (1900, 2, 28)
        );
        assert_eq!(
            civil_from_days(days_from_civil(2000, 3, 1) - 1),
            (2000, 2, 29)
        );
        assert_eq!(
            civil_from_days(days_from_civil(2100, 3, 1) - 1),
            (2100, 2, 28)
        );
        assert_eq!(
            Utc::from_unix(253_402_300_799, 0).rfc3339(false),
            "9999-12-31T23:59:59Z"
        );
    }

    #[test]
    fn days_round_trip() {
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(days_from_civil(2024, 3, 1), 19_783);
        for days in (-800_000..800_000).step_by(997) {
            let (y, m, d) = civil_from_days(days);
            assert!((1..=12).contains(&m) && (1..=31).contains(&d), "{days}");
            assert_eq!(days_from_civil(y, m, d), days, "{y}-{m}-{d}");
        }
    }
}
