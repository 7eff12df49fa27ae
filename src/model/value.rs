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
}

impl<T> Spanned<T> {
    /// Pairs a value with its span.
    pub fn new(value: T, span: Span) -> Self {
        Spanned { value, span }
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
