//! Numbers with units (language.md §1): `30s`, `4KB`, `512MiB`, `70%`, `100/min`, `12k`.
//!
//! Every quantity is normalised to a base unit: milliseconds, bytes, percent points or a
//! plain count; a rate keeps its numerator and the length of its window in seconds.

use crate::diagnostic::closest;
use serde::Serialize;

/// What a quantity measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Dimension {
    Count,
    Duration,
    Size,
    Percent,
}

impl Dimension {
    /// The name used in messages.
    pub fn name(self) -> &'static str {
        match self {
            Dimension::Count => "number",
            Dimension::Duration => "duration",
            Dimension::Size => "size",
            Dimension::Percent => "percent",
        }
    }
}

/// A parsed number with its unit.
#[derive(Debug, Clone, PartialEq)]
pub struct Quantity {
    /// The value in the base unit of `dimension` (ms, bytes, percent points, count).
    pub value: f64,
    pub dimension: Dimension,
    /// For a rate, the window in seconds (`/min` is 60).
    pub per_seconds: Option<f64>,
    /// True when written without a decimal point and without a magnitude that makes it fractional.
    pub integral: bool,
}

impl Quantity {
    /// The rate per second (value / window), or None when this is not a rate.
    pub fn per_second(&self) -> Option<f64> {
        self.per_seconds.map(|p| self.value / p)
    }

    /// "a duration", "a rate", ...
    pub fn describe(&self) -> &'static str {
        match (self.per_seconds, self.dimension) {
            (Some(_), Dimension::Size) => "a size rate",
            (Some(_), Dimension::Percent) => "a percent rate",
            (Some(_), _) => "a rate",
            (None, Dimension::Count) => "a number",
            (None, Dimension::Duration) => "a duration",
            (None, Dimension::Size) => "a size",
            (None, Dimension::Percent) => "a percent",
        }
    }
}

const DURATIONS: &[(&str, f64)] = &[
    ("ms", 1.0),
    ("s", 1e3),
    ("m", 60e3),
    ("min", 60e3),
    ("h", 3_600e3),
    ("d", 86_400e3),
    ("w", 7.0 * 86_400e3),
    ("mo", 30.0 * 86_400e3),
    ("y", 365.0 * 86_400e3),
];

const SIZES: &[(&str, f64)] = &[
    ("B", 1.0),
    ("KB", 1e3),
    ("MB", 1e6),
    ("GB", 1e9),
    ("TB", 1e12),
    ("PB", 1e15),
    ("KiB", 1024.0),
    ("MiB", 1024.0 * 1024.0),
    ("GiB", 1024.0 * 1024.0 * 1024.0),
    ("TiB", 1024.0 * 1024.0 * 1024.0 * 1024.0),
];

const MAGNITUDES: &[(&str, f64)] = &[("k", 1e3), ("M", 1e6), ("G", 1e9)];

const RATE_WINDOWS: &[(&str, f64)] = &[
    ("s", 1.0),
    ("m", 60.0),
    ("min", 60.0),
    ("h", 3_600.0),
    ("d", 86_400.0),
    ("day", 86_400.0),
    ("w", 7.0 * 86_400.0),
    ("mo", 30.0 * 86_400.0),
    ("month", 30.0 * 86_400.0),
    ("y", 365.0 * 86_400.0),
];

/// Every unit suffix a quantity may carry, for suggestions.
pub fn all_units() -> impl Iterator<Item = &'static str> {
    DURATIONS
        .iter()
        .chain(SIZES)
        .chain(MAGNITUDES)
        .map(|(u, _)| *u)
        .chain(std::iter::once("%"))
}

/// A literal that could not be read, with the fix.
#[derive(Debug, Clone, PartialEq)]
pub struct LiteralError {
    pub message: String,
    pub help: String,
}

/// Reads a quantity token such as `12_000`, `1.5M`, `250ms`, `40GB/mo`.
pub fn parse_quantity(text: &str) -> Result<Quantity, LiteralError> {
    let (main, window) = match text.split_once('/') {
        Some((m, w)) => (m, Some(w)),
        None => (text, None),
    };
    let number_end = main
        .char_indices()
        .find(|(i, c)| !(c.is_ascii_digit() || *c == '_' || *c == '.' || (*i == 0 && *c == '-')))
        .map(|(i, _)| i)
        .unwrap_or(main.len());
    let (number_text, unit) = main.split_at(number_end);
    let digits: String = number_text.chars().filter(|c| *c != '_').collect();
    let number: f64 = digits.parse().map_err(|_| LiteralError {
        message: format!("`{text}` is not a number"),
        help: "write a number such as `12`, `12_000` or `1.5`".into(),
    })?;
    let fractional = number_text.contains('.');
    let (factor, dimension, integral) = unit_factor(unit, text)?;
    let per_seconds = match window {
        None => None,
        Some(w) => {
            if dimension == Dimension::Duration {
                return Err(LiteralError {
                    message: format!("`{text}`: a rate counts requests, sizes or percents per time, not durations"),
                    help: "write a rate such as `100/min`, `40GB/mo` or `8%/mo`".into(),
                });
            }
            match RATE_WINDOWS.iter().find(|(u, _)| *u == w) {
                Some((_, secs)) => Some(*secs),
                None => {
                    let hint = closest(w, RATE_WINDOWS.iter().map(|(u, _)| *u))
                        .map(|c| format!("did you mean `/{c}`? "))
                        .unwrap_or_default();
                    return Err(LiteralError {
                        message: format!("unknown time unit `/{w}` in `{text}`"),
                        help: format!("{hint}a rate's window is one of /s /min /h /day /w /mo /y"),
                    });
                }
            }
        }
    };
    let value = number * factor;
    Ok(Quantity {
        value,
        dimension,
        per_seconds,
        integral: !fractional && integral
            || (value.fract() == 0.0 && dimension == Dimension::Count),
    })
}

fn unit_factor(unit: &str, text: &str) -> Result<(f64, Dimension, bool), LiteralError> {
    if unit.is_empty() {
        return Ok((1.0, Dimension::Count, true));
    }
    if unit == "%" {
        return Ok((1.0, Dimension::Percent, false));
    }
    if let Some((_, f)) = DURATIONS.iter().find(|(u, _)| *u == unit) {
        return Ok((*f, Dimension::Duration, false));
    }
    if let Some((_, f)) = SIZES.iter().find(|(u, _)| *u == unit) {
        return Ok((*f, Dimension::Size, false));
    }
    if let Some((_, f)) = MAGNITUDES.iter().find(|(u, _)| *u == unit) {
        return Ok((*f, Dimension::Count, true));
    }
    let hint = all_units()
        .find(|u| u.eq_ignore_ascii_case(unit))
        .or_else(|| closest(unit, all_units()))
        .map(|c| format!("did you mean `{c}`? "))
        .unwrap_or_default();
    Err(LiteralError {
        message: format!("unknown unit `{unit}` in `{text}`"),
        help: format!(
            "{hint}durations use ms s m h d w mo y; sizes B KB MB GB TB PB KiB MiB GiB TiB; counts k M G; percents %"
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(text: &str) -> Quantity {
        parse_quantity(text).expect("valid literal")
    }

    #[test]
    fn durations_are_milliseconds() {
        assert_eq!(q("250ms").value, 250.0);
        assert_eq!(q("30s").value, 30_000.0);
        assert_eq!(q("5m").value, 300_000.0);
        assert_eq!(q("12mo").value, 12.0 * 30.0 * 86_400_000.0);
    }

    #[test]
    fn sizes_distinguish_decimal_and_binary() {
        assert_eq!(q("4KB").value, 4_000.0);
        assert_eq!(q("512MiB").value, 512.0 * 1024.0 * 1024.0);
    }

    #[test]
    fn magnitudes_and_separators() {
        assert_eq!(q("12_000").value, 12_000.0);
        assert_eq!(q("12k").value, 12_000.0);
        assert_eq!(q("1.5M").value, 1_500_000.0);
        assert!(q("1.5M").integral);
        assert!(!q("0.9").integral);
    }

    #[test]
    fn rates_carry_their_window() {
        let r = q("100/min");
        assert_eq!(r.per_seconds, Some(60.0));
        assert!((r.per_second().unwrap_or(0.0) - 100.0 / 60.0).abs() < 1e-12);
        assert_eq!(q("40GB/mo").dimension, Dimension::Size);
        assert_eq!(q("8%/mo").dimension, Dimension::Percent);
        assert_eq!(q("10k/day").per_seconds, Some(86_400.0));
    }

    #[test]
    fn unknown_unit_suggests_the_closest() {
        let e = parse_quantity("30sec").expect_err("unknown unit");
        assert!(e.message.contains("`sec`"), "{}", e.message);
        let e = parse_quantity("4Gb").expect_err("unknown unit");
        assert!(e.help.contains("did you mean `GB`"), "{}", e.help);
    }

    #[test]
    fn a_duration_rate_is_refused() {
        assert!(parse_quantity("5s/min").is_err());
    }
}
