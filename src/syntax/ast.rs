//! The abstract syntax tree: blocks, attributes and values, each with its span.

use super::literal::Quantity;
use crate::source::Span;

/// One parsed `.arch` file.
#[derive(Debug, Clone, Default)]
pub struct File {
    pub imports: Vec<Import>,
    pub blocks: Vec<Block>,
    /// False when a syntax error stopped the parse: the file contributes nothing.
    pub complete: bool,
}

/// `import "path"`.
#[derive(Debug, Clone)]
pub struct Import {
    pub path: String,
    pub span: Span,
}

/// A word as written, with its span.
#[derive(Debug, Clone, PartialEq)]
pub struct Ident {
    pub text: String,
    pub span: Span,
}

/// `kind [label [label]] { ... }`.
#[derive(Debug, Clone)]
pub struct Block {
    pub kind: Ident,
    pub labels: Vec<Label>,
    pub items: Vec<Item>,
    /// The whole block.
    pub span: Span,
    /// `kind label...`, the part diagnostics about the whole block point at.
    pub head: Span,
}

/// A block label: a bare name or a string.
#[derive(Debug, Clone)]
pub struct Label {
    pub text: String,
    pub quoted: bool,
    pub span: Span,
}

/// A block body entry.
#[derive(Debug, Clone)]
pub enum Item {
    Attribute(Attribute),
    Block(Block),
}

/// `key = value`.
#[derive(Debug, Clone)]
pub struct Attribute {
    pub key: Key,
    pub value: Value,
    pub span: Span,
}

/// How a key was written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyForm {
    Ident,
    String,
    Integer,
}

/// The left side of an attribute.
#[derive(Debug, Clone)]
pub struct Key {
    pub text: String,
    pub form: KeyForm,
    pub span: Span,
}

/// A value with its span.
#[derive(Debug, Clone)]
pub struct Value {
    pub kind: ValueKind,
    pub span: Span,
}

/// The forms a value takes (language.md §2).
#[derive(Debug, Clone)]
pub enum ValueKind {
    Quantity(Quantity),
    Range(Box<Value>, Box<Value>),
    String(String),
    Bool(bool),
    Name(String),
    Path(Vec<Ident>),
    Call {
        name: Ident,
        args: Vec<Arg>,
    },
    List(Vec<Value>),
    Map(Vec<Attribute>),
    /// A literal that could not be read; already reported, and ignored by later stages.
    Invalid,
}

/// A call argument, positional or named.
#[derive(Debug, Clone)]
pub struct Arg {
    pub name: Option<Ident>,
    pub value: Value,
}

impl ValueKind {
    /// A short description of the form, for "expected X, found Y" messages.
    pub fn describe(&self) -> String {
        match self {
            ValueKind::Quantity(q) => q.describe().to_string(),
            ValueKind::Range(..) => "a range".into(),
            ValueKind::String(_) => "a string".into(),
            ValueKind::Bool(_) => "a boolean".into(),
            ValueKind::Name(n) => format!("the name `{n}`"),
            ValueKind::Path(_) => "a path".into(),
            ValueKind::Call { name, .. } => format!("a call `{}(...)`", name.text),
            ValueKind::List(_) => "a list".into(),
            ValueKind::Map(_) => "a map".into(),
            ValueKind::Invalid => "an invalid literal".into(),
        }
    }
}
