//! How figures explain themselves: [`Trace`] builders, number formatting for trace inputs,
//! and [`Notes`], the assumptions a plan rests on ("the catalogue default target
//! utilisation 70% for orders, payments").

use std::collections::{BTreeMap, BTreeSet};

use crate::model::Bytes;
use crate::plan::report::{Latency, Trace};

/// A trace: what the figure is, its formula in words and symbols, the inputs with their
/// units, and the result as printed.
pub fn trace(figure: &str, formula: &str, inputs: Vec<(&str, String)>, result: String) -> Trace {
    Trace {
        figure: figure.to_string(),
        formula: formula.to_string(),
        inputs: inputs
            .into_iter()
            .map(|(name, value)| (name.to_string(), value))
            .collect(),
        result,
    }
}

/// A number with about four significant digits, trailing zeros dropped; whole numbers
/// print whole; `∞` for infinity.
pub fn num(x: f64) -> String {
    if x.is_nan() {
        return "NaN".into();
    }
    if x.is_infinite() {
        return if x > 0.0 { "∞".into() } else { "-∞".into() };
    }
    if x == x.round() && x.abs() < 1e15 {
        return format!("{}", x as i64);
    }
    let magnitude = x.abs().log10().floor() as i32;
    let decimals = (3 - magnitude).clamp(0, 9) as usize;
    let text = format!("{x:.decimals$}");
    if text.contains('.') {
        text.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        text
    }
}

/// `840 rps`.
pub fn rps(x: f64) -> String {
    format!("{} rps", num(x))
}

/// `3.5 ms`.
pub fn ms(x: f64) -> String {
    format!("{} ms", num(x))
}

/// A fraction as a percentage: 0.7 → `70%`.
pub fn pct(fraction: f64) -> String {
    format!("{}%", num(fraction * 100.0))
}

/// A size in bytes, in the largest decimal unit: `8.352GB`.
pub fn bytes(x: f64) -> String {
    if x.is_finite() {
        Bytes(x).to_string()
    } else {
        format!("{} B", num(x))
    }
}

/// Money in the catalogue currency: amounts of 1 or more to the cent (`1234.57 USD`),
/// unit prices below 1 with four significant digits (`0.08925 USD`).
pub fn money(x: f64, currency: &str) -> String {
    if x.abs() >= 1.0 {
        format!("{:.2} {currency}", x)
    } else {
        format!("{} {currency}", num(x))
    }
}

/// p50/p95/p99 as one line.
pub fn latency(l: &Latency) -> String {
    format!("p50 {} / p95 {} / p99 {}", ms(l.p50), ms(l.p95), ms(l.p99))
}

/// Assumptions collected while estimating: phrase → components it applies to.
#[derive(Debug, Default)]
pub struct Notes {
    phrases: BTreeMap<String, BTreeSet<String>>,
    /// Drops every phrase (horizon months, whose notes are never shown).
    muted: bool,
}

impl Notes {
    /// Notes that record nothing.
    pub fn muted() -> Notes {
        Notes {
            muted: true,
            ..Notes::default()
        }
    }

    /// Records `phrase` for `component` (or for the whole program when `component` is
    /// empty).
    pub fn add(&mut self, phrase: impl Into<String>, component: &str) {
        if self.muted {
            return;
        }
        let who = self.phrases.entry(phrase.into()).or_default();
        if !component.is_empty() {
            who.insert(component.to_string());
        }
    }

    /// Every phrase as a line, `phrase for a, b`, sorted.
    pub fn lines(&self) -> Vec<String> {
        self.phrases
            .iter()
            .map(|(phrase, who)| {
                if who.is_empty() {
                    phrase.clone()
                } else {
                    let names: Vec<&str> = who.iter().map(String::as_str).collect();
                    format!("{phrase} for {}", names.join(", "))
                }
            })
            .collect()
    }
}

/// ⌈x⌉ as a count, ignoring floating-point noise of 1e-9 relative (2.0000000001 → 2);
/// 0 for x ≤ 0 or NaN, `u32::MAX` when it does not fit.
pub fn ceil_count(x: f64) -> u32 {
    if x.is_nan() || x <= 0.0 {
        return 0;
    }
    if x >= f64::from(u32::MAX) {
        return u32::MAX;
    }
    let nudged = x - 1e-9 * x.max(1.0);
    // `as` saturates: infinity and huge values become u32::MAX.
    nudged.ceil().max(0.0) as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_print_compactly() {
        assert_eq!(num(3.0), "3");
        assert_eq!(num(0.123456), "0.1235");
        assert_eq!(num(11.25), "11.25");
        assert_eq!(num(1234.5678), "1235");
        assert_eq!(num(f64::INFINITY), "∞");
        assert_eq!(pct(0.7), "70%");
        assert_eq!(money(1234.567, "USD"), "1234.57 USD");
        assert_eq!(money(0.085, "USD"), "0.085 USD");
    }

    #[test]
    fn counts_round_up_without_noise() {
        assert_eq!(ceil_count(2.000_000_000_1), 2);
        assert_eq!(ceil_count(2.01), 3);
        assert_eq!(ceil_count(0.0), 0);
        assert_eq!(ceil_count(f64::NAN), 0);
        assert_eq!(ceil_count(f64::INFINITY), u32::MAX);
    }

    #[test]
    fn notes_group_components_by_phrase() {
        let mut n = Notes::default();
        n.add("the default target 70%", "b");
        n.add("the default target 70%", "a");
        n.add("no region declared", "");
        assert_eq!(
            n.lines(),
            vec!["no region declared", "the default target 70% for a, b"]
        );
    }
}
