//! A507: a job schedule that is not a valid 5-field cron expression.

use crate::check::Context;
use crate::diagnostic::Diagnostic;
use crate::model::Job;

crate::declare_rule! {
    /// ## What it does
    /// Reports a `job.schedule` that is not a standard 5-field cron expression
    /// `minute hour day-of-month month day-of-week`. Each field is `*`, a number, a range
    /// `a-b`, a step `*/n`, `a-b/n` or `a/n`, or a comma-separated list of those; months
    /// accept `jan`–`dec` and weekdays `sun`–`sat`. The ranges are minute 0–59, hour 0–23,
    /// day 1–31, month 1–12 and weekday 0–7 (0 and 7 are Sunday). The message says which
    /// field is wrong and why. Shortcuts such as `@daily`, a seconds field, and the Quartz
    /// extensions `?`, `L`, `W` and `#` are not accepted.
    ///
    /// ## Why is this bad?
    /// The scheduler rejects the job at startup, or worse accepts it with another meaning
    /// (a 6-field expression read as seconds first runs 60 times as often), and the nightly
    /// job silently never runs (`shared/seed`, §8 "Recurring Jobs").
    ///
    /// ## Example
    /// ```arch
    /// service reports { endpoint build { route = "POST /reports"  work = 5ms } }
    /// job nightly_report { schedule = "0 24 * * *"  runs = reports.build }
    /// ```
    ///
    /// ## Use instead
    /// ```arch
    /// service reports { endpoint build { route = "POST /reports"  work = 5ms } }
    /// job nightly_report { schedule = "0 0 * * *"  runs = reports.build }
    /// ```
    A507, Error, "invalid cron schedule", run
}

fn run(ctx: &Context) -> Vec<Diagnostic> {
    ctx.program.jobs.iter().filter_map(check).collect()
}

fn check(job: &Job) -> Option<Diagnostic> {
    let schedule = job.schedule.as_ref()?;
    let problem = validate(&schedule.value).err()?;
    let help = match shortcut(schedule.value.trim()) {
        Some(fields) => format!("write `schedule = \"{fields}\"`"),
        None => "write five fields `minute hour day month weekday`, e.g. \"0 3 * * *\" (03:00 every day) or \"*/15 * * * mon-fri\"".to_string(),
    };
    Some(
        Diagnostic::error(
            "A507",
            schedule.span,
            format!(
                "the schedule \"{}\" of job `{}` is not a valid cron expression: {problem}",
                schedule.value, job.name.value
            ),
        )
        .with_primary_label(problem.label())
        .with_label(job.name.span, format!("job `{}`", job.name.value))
        .with_help(help),
    )
}

/// One field of a cron expression.
struct Field {
    name: &'static str,
    min: u32,
    max: u32,
    /// Names of the values, the first meaning `first_named`.
    names: &'static [&'static str],
    first_named: u32,
}

const MONTHS: &[&str] = &[
    "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
];
const WEEKDAYS: &[&str] = &["sun", "mon", "tue", "wed", "thu", "fri", "sat"];

const FIELDS: [Field; 5] = [
    Field {
        name: "minute",
        min: 0,
        max: 59,
        names: &[],
        first_named: 0,
    },
    Field {
        name: "hour",
        min: 0,
        max: 23,
        names: &[],
        first_named: 0,
    },
    Field {
        name: "day-of-month",
        min: 1,
        max: 31,
        names: &[],
        first_named: 0,
    },
    Field {
        name: "month",
        min: 1,
        max: 12,
        names: MONTHS,
        first_named: 1,
    },
    Field {
        name: "day-of-week",
        min: 0,
        max: 7,
        names: WEEKDAYS,
        first_named: 0,
    },
];

/// What is wrong with an expression, and in which field.
#[derive(Debug, Clone, PartialEq)]
struct CronError {
    /// The field at fault (`minute` … `day-of-week`), or None for the whole expression.
    pub field: Option<&'static str>,
    pub message: String,
}

impl CronError {
    fn whole(message: String) -> CronError {
        CronError {
            field: None,
            message,
        }
    }

    fn label(&self) -> String {
        match self.field {
            Some(f) => format!("bad {f} field"),
            None => "not 5 cron fields".to_string(),
        }
    }
}

impl std::fmt::Display for CronError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.field {
            Some(field) => write!(f, "the {field} field {}", self.message),
            None => f.write_str(&self.message),
        }
    }
}

/// The five fields of a `@` shortcut.
fn shortcut(text: &str) -> Option<&'static str> {
    Some(match text.to_ascii_lowercase().as_str() {
        "@yearly" | "@annually" => "0 0 1 1 *",
        "@monthly" => "0 0 1 * *",
        "@weekly" => "0 0 * * 0",
        "@daily" | "@midnight" => "0 0 * * *",
        "@hourly" => "0 * * * *",
        _ => return None,
    })
}

/// Checks a 5-field cron expression.
fn validate(text: &str) -> Result<(), CronError> {
    let trimmed = text.trim();
    if trimmed.starts_with('@') {
        return Err(CronError::whole(match shortcut(trimmed) {
            Some(_) => format!("`{trimmed}` is a shortcut, not five fields"),
            None => format!("`{trimmed}` is not a cron expression"),
        }));
    }
    let parts: Vec<&str> = trimmed.split_whitespace().collect();
    if parts.len() != FIELDS.len() {
        let extra = if parts.len() == 6 {
            " (a seconds or year field is not supported)"
        } else {
            ""
        };
        return Err(CronError::whole(format!(
            "it has {} field{}, a cron expression has 5 (minute hour day month weekday){extra}",
            parts.len(),
            if parts.len() == 1 { "" } else { "s" }
        )));
    }
    for (part, field) in parts.iter().zip(FIELDS.iter()) {
        check_field(part, field).map_err(|message| CronError {
            field: Some(field.name),
            message,
        })?;
    }
    Ok(())
}

fn check_field(text: &str, f: &Field) -> Result<(), String> {
    for item in text.split(',') {
        if item.is_empty() {
            return Err(format!("`{text}` has an empty list item"));
        }
        check_item(item, f).map_err(|why| {
            if item == text {
                why
            } else {
                format!("`{text}`: {why}")
            }
        })?;
    }
    Ok(())
}

fn check_item(item: &str, f: &Field) -> Result<(), String> {
    let (base, step) = match item.split_once('/') {
        Some((b, s)) => (b, Some(s)),
        None => (item, None),
    };
    if let Some(s) = step {
        match s.parse::<u32>() {
            Ok(0) => return Err(format!("`{item}` has step 0; a step is at least 1")),
            Ok(_) => {}
            Err(_) => {
                return Err(format!(
                    "`{item}` has step `{s}`, which is not a whole number"
                ))
            }
        }
    }
    if base == "*" {
        return Ok(());
    }
    match base.split_once('-') {
        Some((a, b)) => {
            let (lo, hi) = (value(a, f)?, value(b, f)?);
            if lo > hi {
                return Err(format!("range `{base}` runs backwards"));
            }
            Ok(())
        }
        None => value(base, f).map(|_| ()),
    }
}

fn value(text: &str, f: &Field) -> Result<u32, String> {
    let range = format!("{}-{}", f.min, f.max);
    if !text.is_empty() && text.chars().all(|c| c.is_ascii_digit()) {
        return match text.parse::<u32>() {
            Ok(n) if (f.min..=f.max).contains(&n) => Ok(n),
            _ => Err(format!("value {text} is outside {range}")),
        };
    }
    let lower = text.to_ascii_lowercase();
    if let Some(i) = f.names.iter().position(|n| *n == lower) {
        return Ok(f.first_named + i as u32);
    }
    let names = match (f.names.first(), f.names.last()) {
        (Some(a), Some(b)) => format!(" or a name {a}-{b}"),
        _ => String::new(),
    };
    Err(format!("`{text}` is not a number {range}{names}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field_of(text: &str) -> Option<&'static str> {
        validate(text).err().and_then(|e| e.field)
    }

    #[test]
    fn accepts_standard_expressions() {
        for ok in [
            "* * * * *",
            "0 3 * * *",
            "*/15 * * * *",
            "0 9-17 * * mon-fri",
            "0 0 1,15 * *",
            "30 2 * jan,jul sun",
            "0 0 * * 7",
            "5/10 0-23/2 1-31 1-12 0-6",
            "  0  0  *  *  *  ",
            "0 12 * DEC Sat",
        ] {
            assert_eq!(validate(ok), Ok(()), "{ok}");
        }
    }

    #[test]
    fn counts_fields() {
        assert_eq!(field_of("0 3 * *"), None);
        assert!(validate("0 3 * *").is_err());
        assert!(validate("0 0 3 * * *")
            .err()
            .is_some_and(|e| e.message.contains("seconds")));
        assert!(validate("").is_err());
        assert!(validate("@daily")
            .err()
            .is_some_and(|e| e.message.contains("shortcut")));
        assert_eq!(shortcut("@daily"), Some("0 0 * * *"));
    }

    #[test]
    fn names_the_field_out_of_range() {
        assert_eq!(field_of("60 * * * *"), Some("minute"));
        assert_eq!(field_of("0 24 * * *"), Some("hour"));
        assert_eq!(field_of("0 0 0 * *"), Some("day-of-month"));
        assert_eq!(field_of("0 0 32 * *"), Some("day-of-month"));
        assert_eq!(field_of("0 0 * 13 *"), Some("month"));
        assert_eq!(field_of("0 0 * 0 *"), Some("month"));
        assert_eq!(field_of("0 0 * * 8"), Some("day-of-week"));
        assert_eq!(field_of("0 0 * * 99999999999"), Some("day-of-week"));
    }

    #[test]
    fn rejects_bad_syntax() {
        assert_eq!(field_of("*/0 * * * *"), Some("minute"));
        assert_eq!(field_of("*/x * * * *"), Some("minute"));
        assert_eq!(field_of("0 17-9 * * *"), Some("hour"));
        assert_eq!(field_of("0 0 1,,2 * *"), Some("day-of-month"));
        assert_eq!(field_of("0 0 ? * *"), Some("day-of-month"));
        assert_eq!(field_of("0 0 L * *"), Some("day-of-month"));
        assert_eq!(field_of("0 0 * foo *"), Some("month"));
        assert_eq!(field_of("0 0 * * mon#2"), Some("day-of-week"));
        assert_eq!(field_of("0 0 * * fri-mon"), Some("day-of-week"));
        assert_eq!(field_of("0 0 * jan *"), None);
        assert_eq!(field_of("-1 * * * *"), Some("minute"));
        assert_eq!(field_of("1- * * * *"), Some("minute"));
    }

    #[test]
    fn says_why() {
        let e = validate("0 25 * * *").err();
        assert_eq!(
            e.map(|e| e.to_string()).as_deref(),
            Some("the hour field value 25 is outside 0-23")
        );
        let e = validate("0 0 * * sunday").err();
        assert_eq!(
            e.map(|e| e.to_string()).as_deref(),
            Some("the day-of-week field `sunday` is not a number 0-7 or a name sun-sat")
        );
    }
}
