//! Typed values of the IR: quantities in base units, spans kept beside values, references.

use crate::source::Span;
use schemars::gen::SchemaGenerator;
use schemars::schema::Schema;
use schemars::JsonSchema;
use serde::{Serialize, Serializer};
use std::ops::Deref;

/// A value and the span it came from (the attribute, or the block head for a default).
/// Serialises as the bare value: the IR dump shows what the compiler understood.
#[derive(Debug, Clone, PartialEq)]
pub struct Spanned<T> {
    pub value: T,
    pub span: Span,
    /// True when the file did not set it and the documented default was used; `span` is then
    /// the head of the block that took the default.
    pub defaulted: bool,
}

impl<T> Spanned<T> {
    /// Pairs a value written in the file with its span.
    pub fn new(value: T, span: Span) -> Self {
        Spanned {
            value,
            span,
            defaulted: false,
        }
    }

    /// A documented default, located at the head of the block that took it.
    pub fn default_at(value: T, span: Span) -> Self {
        Spanned {
            value,
            span,
            defaulted: true,
        }
    }

    /// `" (the default)"` for a defaulted value, else nothing: for messages.
    pub fn default_note(&self) -> &'static str {
        if self.defaulted {
            " (the default)"
        } else {
            ""
        }
    }
}

impl<T> Deref for Spanned<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.value
    }
}

impl<T: Serialize> Serialize for Spanned<T> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.value.serialize(s)
    }
}

impl<T: JsonSchema> JsonSchema for Spanned<T> {
    fn schema_name() -> String {
        T::schema_name()
    }
    fn json_schema(gen: &mut SchemaGenerator) -> Schema {
        T::json_schema(gen)
    }
    fn is_referenceable() -> bool {
        T::is_referenceable()
    }
}

/// A duration in milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd, Serialize, JsonSchema)]
#[serde(transparent)]
pub struct Millis(pub f64);

/// A size in bytes.
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd, Serialize, JsonSchema)]
#[serde(transparent)]
pub struct Bytes(pub f64);

/// A percentage in points (`70%` is 70.0).
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd, Serialize, JsonSchema)]
#[serde(transparent)]
pub struct Percent(pub f64);

impl Percent {
    /// As a fraction (70% → 0.7).
    pub fn fraction(self) -> f64 {
        self.0 / 100.0
    }
}

/// What a rate counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum RateUnit {
    /// Requests, messages or events.
    Count,
    /// Bytes.
    Bytes,
    /// Percent points (growth).
    Percent,
}

/// A rate: `amount` per `window_s` seconds (`100/min` is 100 per 60 s).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, JsonSchema)]
pub struct Rate {
    pub amount: f64,
    pub window_s: f64,
    pub unit: RateUnit,
}

impl Rate {
    /// The amount per second.
    pub fn per_second(&self) -> f64 {
        if self.window_s > 0.0 {
            self.amount / self.window_s
        } else {
            0.0
        }
    }
}

/// A fixed count or autoscaling bounds (`replicas = 3` or `replicas = 3..12`).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, JsonSchema)]
pub struct Replicas {
    pub min: u32,
    pub max: u32,
}

impl Replicas {
    /// A fixed count.
    pub fn fixed(n: u32) -> Replicas {
        Replicas { min: n, max: n }
    }
    /// True for a range with min < max.
    pub fn is_autoscaled(&self) -> bool {
        self.max > self.min
    }
}

/// A reference to a top-level component by name (normalised: `-` → `_`).
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
#[serde(transparent)]
pub struct Ref {
    pub name: String,
    #[serde(skip)]
    #[schemars(skip)]
    pub span: Span,
}

/// A dotted reference such as `users_db.orders` or `users.get_user`.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
#[serde(transparent)]
pub struct PathRef {
    pub parts: Vec<String>,
    #[serde(skip)]
    #[schemars(skip)]
    pub span: Span,
}

impl PathRef {
    /// The component the path starts at.
    pub fn root(&self) -> &str {
        self.parts.first().map(String::as_str).unwrap_or("")
    }
    /// The member after the component (`orders` in `users_db.orders`).
    pub fn member(&self) -> Option<&str> {
        self.parts.get(1).map(String::as_str)
    }
    /// `a.b` as written (normalised).
    pub fn dotted(&self) -> String {
        self.parts.join(".")
    }
}

/// A component or a member of one (`reads = [products_cache, users_db.users]`).
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
#[serde(untagged)]
pub enum Target {
    Component(Ref),
    Member(PathRef),
}

impl Target {
    /// The component name the target starts at.
    pub fn component(&self) -> &str {
        match self {
            Target::Component(r) => &r.name,
            Target::Member(p) => p.root(),
        }
    }
    /// Where it was written.
    pub fn span(&self) -> Span {
        match self {
            Target::Component(r) => r.span,
            Target::Member(p) => p.span,
        }
    }
}

/// Where a secret comes from (never a literal: rule A010).
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Secret {
    Env(String),
    File(String),
}

/// Normalises a name: `a-b` and `a_b` are the same name.
pub fn normalize(name: &str) -> String {
    name.replace('-', "_")
}

/// Keyword enumerations: the words an attribute accepts.
pub trait Keyword: Sized + Copy {
    /// Every accepted word, in documentation order.
    const WORDS: &'static [&'static str];
    /// The value for a word.
    fn from_word(word: &str) -> Option<Self>;
    /// The word for a value.
    fn word(self) -> &'static str;
}

/// Declares an enum whose variants are written as lowercase keywords.
#[macro_export]
macro_rules! keyword_enum {
    ($(#[$m:meta])* $name:ident { $($variant:ident = $word:literal),+ $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, schemars::JsonSchema)]
        pub enum $name {
            $(#[serde(rename = $word)] $variant),+
        }
        impl $crate::model::value::Keyword for $name {
            const WORDS: &'static [&'static str] = &[$($word),+];
            fn from_word(word: &str) -> Option<Self> {
                match word {
                    $($word => Some($name::$variant),)+
                    _ => None,
                }
            }
            fn word(self) -> &'static str {
                match self {
                    $($name::$variant => $word),+
                }
            }
        }
        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str($crate::model::value::Keyword::word(*self))
            }
        }
    };
}

/// `1500` → `1.5`, `2` → `2`: figures without trailing zeros.
pub fn figure(x: f64) -> String {
    let s = format!("{:.3}", x);
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s.is_empty() || s == "-" {
        "0".into()
    } else {
        s.to_string()
    }
}

impl std::fmt::Display for Millis {
    /// In the largest unit that keeps the figure readable: `250ms`, `30s`, `5m`, `2h`, `7d`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let ms = self.0;
        let units: [(f64, &str); 5] = [
            (86_400_000.0, "d"),
            (3_600_000.0, "h"),
            (60_000.0, "m"),
            (1_000.0, "s"),
            (1.0, "ms"),
        ];
        for (size, unit) in units {
            if ms.abs() >= size && (ms / size * 1000.0).round() % 10.0 == 0.0 || size == 1.0 {
                return write!(f, "{}{unit}", figure(ms / size));
            }
        }
        write!(f, "{}ms", figure(ms))
    }
}

impl std::fmt::Display for Bytes {
    /// `4KB`, `1.5GB`, in powers of 1000.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let units: [(f64, &str); 6] = [
            (1e15, "PB"),
            (1e12, "TB"),
            (1e9, "GB"),
            (1e6, "MB"),
            (1e3, "KB"),
            (1.0, "B"),
        ];
        for (size, unit) in units {
            if self.0.abs() >= size || size == 1.0 {
                return write!(f, "{}{unit}", figure(self.0 / size));
            }
        }
        write!(f, "{}B", figure(self.0))
    }
}

impl std::fmt::Display for Percent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}%", figure(self.0))
    }
}

impl std::fmt::Display for Rate {
    /// As written where possible: `100/min`, `12000/s`, `40GB/mo`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        const WINDOWS: [(f64, &str); 7] = [
            (1.0, "s"),
            (60.0, "min"),
            (3_600.0, "h"),
            (86_400.0, "day"),
            (604_800.0, "w"),
            (2_592_000.0, "mo"),
            (31_536_000.0, "y"),
        ];
        let Some(window) = WINDOWS
            .iter()
            .find(|(w, _)| *w == self.window_s)
            .map(|(_, name)| *name)
        else {
            return write!(f, "{}/s", figure(self.per_second()));
        };
        match self.unit {
            RateUnit::Count => write!(f, "{}/{window}", figure(self.amount)),
            RateUnit::Bytes => write!(f, "{}/{window}", Bytes(self.amount)),
            RateUnit::Percent => write!(f, "{}/{window}", Percent(self.amount)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_print_in_their_natural_unit() {
        assert_eq!(Millis(250.0).to_string(), "250ms");
        assert_eq!(Millis(30_000.0).to_string(), "30s");
        assert_eq!(Millis(300_000.0).to_string(), "5m");
        assert_eq!(Millis(1_500.0).to_string(), "1.5s");
        assert_eq!(Millis(7.0 * 86_400_000.0).to_string(), "7d");
        assert_eq!(Millis(0.0).to_string(), "0ms");
    }

    #[test]
    fn sizes_rates_and_percents_print_as_written() {
        assert_eq!(Bytes(4_000.0).to_string(), "4KB");
        assert_eq!(Percent(99.95).to_string(), "99.95%");
        let r = Rate {
            amount: 100.0,
            window_s: 60.0,
            unit: RateUnit::Count,
        };
        assert_eq!(r.to_string(), "100/min");
    }
}
