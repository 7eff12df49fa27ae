//! Five-field cron schedules (`minute hour day-of-month month day-of-week`, UTC), as jobs
//! declare them: `*`, numbers, ranges `a-b`, steps `*/n` and `a-b/n`, lists `a,b`, and
//! names for months (`jan`) and days (`mon`); day 7 is Sunday like 0. When both day
//! fields are restricted, a day matching either runs (as in Vixie cron).

use std::fmt;

/// A parsed schedule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Schedule {
    minutes: u64,
    hours: u64,
    days: u64,
    months: u64,
    weekdays: u64,
    days_restricted: bool,
    weekdays_restricted: bool,
}

/// Why a schedule does not parse.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CronError(pub String);

impl fmt::Display for CronError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "cron: {}", self.0)
    }
}

impl std::error::Error for CronError {}

const MONTHS: [&str; 12] = [
    "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
];
const DAYS: [&str; 7] = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"];

fn number(text: &str, names: &[&str], offset: u32) -> Result<u32, CronError> {
    if let Some(i) = names.iter().position(|n| n.eq_ignore_ascii_case(text)) {
        return Ok(i as u32 + offset);
    }
    text.parse()
        .map_err(|_| CronError(format!("`{text}` is not a number")))
}

fn field(text: &str, lo: u32, hi: u32, names: &[&str], offset: u32) -> Result<u64, CronError> {
    let mut bits = 0u64;
    for part in text.split(',') {
        let (range, step) = match part.split_once('/') {
            Some((r, s)) => (r, number(s, &[], 0)?),
            None => (part, 1),
        };
        if step == 0 {
            return Err(CronError(format!("step 0 in `{part}`")));
        }
        let (a, b) = match range {
            "*" => (lo, hi),
            r => match r.split_once('-') {
                Some((a, b)) => (number(a, names, offset)?, number(b, names, offset)?),
                None => {
                    let a = number(r, names, offset)?;
                    (a, if part.contains('/') { hi } else { a })
                }
            },
        };
        if a < lo || b > hi || a > b {
            return Err(CronError(format!("`{part}` is outside {lo}-{hi}")));
        }
        let mut v = a;
        while v <= b {
            bits |= 1 << v;
            v += step;
        }
    }
    Ok(bits)
}

/// Days since 1970-01-01 → (year, month 1-12, day 1-31). Howard Hinnant's algorithm.
fn civil(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

impl Schedule {
    /// Parses a five-field expression.
    pub fn parse(text: &str) -> Result<Self, CronError> {
        let fields: Vec<&str> = text.split_whitespace().collect();
        let [mi, h, dom, mon, dow] = fields.as_slice() else {
            return Err(CronError(format!(
                "`{text}` needs 5 fields, has {}",
                fields.len()
            )));
        };
        let mut weekdays = field(dow, 0, 7, &DAYS, 0)?;
        if weekdays & (1 << 7) != 0 {
            weekdays = (weekdays | 1) & 0x7f;
        }
        Ok(Self {
            minutes: field(mi, 0, 59, &[], 0)?,
            hours: field(h, 0, 23, &[], 0)?,
            days: field(dom, 1, 31, &[], 0)?,
            months: field(mon, 1, 12, &MONTHS, 1)?,
            weekdays,
            days_restricted: *dom != "*",
            weekdays_restricted: *dow != "*",
        })
    }

    /// True when the schedule fires at the minute starting `unix_minute` minutes after
    /// the epoch.
    pub fn matches(&self, unix_minute: i64) -> bool {
        let minute = unix_minute.rem_euclid(60) as u32;
        let hour = unix_minute.div_euclid(60).rem_euclid(24) as u32;
        let days = unix_minute.div_euclid(1440);
        let (_, month, day) = civil(days);
        let weekday = (days + 4).rem_euclid(7) as u32; // 1970-01-01 was a Thursday
        let dom = self.days & (1 << day) != 0;
        let dow = self.weekdays & (1 << weekday) != 0;
        let day_ok = match (self.days_restricted, self.weekdays_restricted) {
            (true, true) => dom || dow,
            _ => dom && dow,
        };
        self.minutes & (1 << minute) != 0
            && self.hours & (1 << hour) != 0
            && self.months & (1 << month) != 0
            && day_ok
    }

    /// The first firing minute strictly after `unix_ms`, in Unix milliseconds; None when
    /// nothing fires within eight years (`0 0 31 2 *`).
    pub fn next_after(&self, unix_ms: u64) -> Option<u64> {
        let start = i64::try_from(unix_ms / 60_000).ok()? + 1;
        (start..start + 8 * 366 * 1440)
            .find(|m| self.matches(*m))
            .and_then(|m| u64::try_from(m).ok())
            .map(|m| m * 60_000)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // 2024-01-01T00:00Z, a Monday.
    const JAN_1_2024_MS: u64 = 1_704_067_200_000;

    #[test]
    fn daily_at_half_past_two() {
        let s = Schedule::parse("30 2 * * *").expect("parses");
        assert_eq!(
            s.next_after(JAN_1_2024_MS),
            Some(JAN_1_2024_MS + (2 * 60 + 30) * 60_000)
        );
        let after = JAN_1_2024_MS + (2 * 60 + 30) * 60_000;
        assert_eq!(s.next_after(after), Some(after + 24 * 3_600_000));
    }

    #[test]
    fn weekly_on_monday_and_named_days() {
        let s = Schedule::parse("0 7 * * 1").expect("parses");
        assert_eq!(
            s.next_after(JAN_1_2024_MS),
            Some(JAN_1_2024_MS + 7 * 3_600_000)
        );
        let later = JAN_1_2024_MS + 8 * 3_600_000;
        assert_eq!(
            s.next_after(later),
            Some(JAN_1_2024_MS + (7 * 24 + 7) * 3_600_000)
        );
        assert_eq!(Schedule::parse("0 7 * * mon"), Ok(s));
        let sunday = Schedule::parse("0 0 * * 7").expect("parses");
        assert_eq!(sunday, Schedule::parse("0 0 * * 0").expect("parses"));
    }

    #[test]
    fn steps_ranges_lists_and_months() {
        let s = Schedule::parse("*/15 9-17 1,15 feb-mar *").expect("parses");
        // 2024-02-01T09:00Z
        let feb_1 = JAN_1_2024_MS + 31 * 86_400_000;
        assert_eq!(s.next_after(JAN_1_2024_MS), Some(feb_1 + 9 * 3_600_000));
        assert_eq!(
            s.next_after(feb_1 + 9 * 3_600_000),
            Some(feb_1 + 9 * 3_600_000 + 15 * 60_000)
        );
    }

    #[test]
    fn either_day_field_matches_when_both_are_restricted() {
        // the 13th, or any Friday: 2024-01-05 is the first Friday
        let s = Schedule::parse("0 0 13 * 5").expect("parses");
        assert_eq!(
            s.next_after(JAN_1_2024_MS),
            Some(JAN_1_2024_MS + 4 * 86_400_000)
        );
    }

    #[test]
    fn bad_schedules_are_refused() {
        for bad in [
            "* * * *",
            "60 * * * *",
            "* 24 * * *",
            "*/0 * * * *",
            "x * * * *",
            "5-1 * * * *",
        ] {
            assert!(Schedule::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(
            Schedule::parse("0 0 31 2 *").expect("parses").next_after(0),
            None
        );
    }
}
