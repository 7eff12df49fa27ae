//! Reading a block's attributes against its schema.
//!
//! Each kind's lowering asks a [`Reader`] for the attributes it knows, typed (`duration`,
//! `percent`, `reference`...). The reader checks types and units (A005), ranges (A006),
//! required attributes (A007), duplicates (A003), secrets (A010), and at the end reports
//! every attribute or nested block nobody asked for as unknown (A002), suggesting the
//! closest known one. The schema of a kind is therefore exactly the code that lowers it.

use super::value::*;
use super::Kind;
use crate::diagnostic::{closest, Diagnostic};
use crate::source::Span;
use crate::syntax::ast::{Attribute, Block, Item, KeyForm, Value, ValueKind};
use crate::syntax::literal::Dimension;
use std::cell::{Cell, RefCell};

/// What a dotted path must name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Member {
    /// `database.table`.
    Table,
    /// `service.endpoint`.
    Endpoint,
}

/// A reference to check once every component is known.
#[derive(Debug, Clone)]
pub struct PendingRef {
    pub target: Target,
    /// Kinds a bare name may refer to.
    pub kinds: &'static [Kind],
    /// What a dotted path may name (None: paths not allowed).
    pub members: &'static [Member],
    /// The attribute, for messages.
    pub attribute: String,
}

/// Where lowering puts what it finds: diagnostics and references to resolve.
#[derive(Debug, Default)]
pub struct Sink {
    pub diagnostics: RefCell<Vec<Diagnostic>>,
    pub refs: RefCell<Vec<PendingRef>>,
    /// When set, records which attributes and blocks each kind knows and which were written.
    pub coverage: Option<RefCell<Coverage>>,
}

/// Language features known to the lowering and features a set of programs used, as
/// `block-kind.attribute` or `block-kind.block-kind` (see `model::feature_coverage`).
#[derive(Debug, Default, Clone)]
pub struct Coverage {
    pub known: std::collections::BTreeSet<String>,
    pub used: std::collections::BTreeSet<String>,
}

impl Sink {
    /// Records a diagnostic.
    pub fn push(&self, d: Diagnostic) {
        self.diagnostics.borrow_mut().push(d);
    }
}

/// Reads one block.
pub struct Reader<'a> {
    pub block: &'a Block,
    pub sink: &'a Sink,
    attrs: Vec<&'a Attribute>,
    blocks: Vec<&'a Block>,
    used_attrs: Vec<Cell<bool>>,
    used_blocks: Vec<Cell<bool>>,
    known_attrs: RefCell<Vec<&'static str>>,
    known_blocks: RefCell<Vec<&'static str>>,
    /// Keys are free-form (`columns`, `tiers`...): nothing is unknown.
    map_like: bool,
}

fn norm_key(text: &str) -> String {
    normalize(text)
}

/// `a-b` and `a_b` are the same name; compared without allocating (this runs for every
/// attribute a lowering asks for).
fn same_key(written: &str, name: &str) -> bool {
    written.len() == name.len()
        && written
            .bytes()
            .zip(name.bytes())
            .all(|(a, b)| a == b || (a == b'-' && b == b'_') || (a == b'_' && b == b'-'))
}

impl<'a> Reader<'a> {
    /// A reader over a block whose keys are attribute names.
    pub fn new(block: &'a Block, sink: &'a Sink) -> Reader<'a> {
        let mut attrs = Vec::new();
        let mut blocks = Vec::new();
        for item in &block.items {
            match item {
                Item::Attribute(a) => attrs.push(a),
                Item::Block(b) => blocks.push(b),
            }
        }
        let reader = Reader {
            block,
            sink,
            used_attrs: attrs.iter().map(|_| Cell::new(false)).collect(),
            used_blocks: blocks.iter().map(|_| Cell::new(false)).collect(),
            attrs,
            blocks,
            known_attrs: RefCell::new(Vec::new()),
            known_blocks: RefCell::new(Vec::new()),
            map_like: false,
        };
        reader.report_duplicate_keys();
        reader
    }

    /// A reader over a map-like block (`columns`, `tiers`, `countries`...): any key is allowed.
    pub fn map_like(block: &'a Block, sink: &'a Sink) -> Reader<'a> {
        let mut r = Reader::new(block, sink);
        r.map_like = true;
        r
    }

    fn report_duplicate_keys(&self) {
        for (i, a) in self.attrs.iter().enumerate() {
            if let Some(first) = self.attrs[..i]
                .iter()
                .find(|b| same_key(&b.key.text, &a.key.text))
            {
                self.sink.push(
                    Diagnostic::error(
                        "A003",
                        a.key.span,
                        format!("`{}` is set twice in this block", a.key.text),
                    )
                    .with_primary_label("set again here")
                    .with_label(first.key.span, "first set here")
                    .with_help("keep one of the two values"),
                );
            }
        }
    }

    /// The span diagnostics about the whole block point at.
    pub fn head(&self) -> Span {
        self.block.head
    }

    /// The block's first label as a normalised name, checked for form.
    pub fn label(&self) -> Option<Spanned<String>> {
        self.block
            .labels
            .first()
            .map(|l| Spanned::new(l.text.clone(), l.span))
    }

    /// Every attribute of a map-like block, as (key, value).
    pub fn entries(&self) -> Vec<&'a Attribute> {
        for u in &self.used_attrs {
            u.set(true);
        }
        let mut seen = Vec::new();
        self.attrs
            .iter()
            .copied()
            .filter(|a| {
                let k = norm_key(&a.key.text);
                if seen.contains(&k) {
                    false
                } else {
                    seen.push(k);
                    true
                }
            })
            .collect()
    }

    /// The raw attribute `name`, marking it known and used.
    pub fn attr(&self, name: &'static str) -> Option<&'a Attribute> {
        self.known_attrs.borrow_mut().push(name);
        self.record(name, false);
        let matches = |a: &&Attribute| a.key.form == KeyForm::Ident && same_key(&a.key.text, name);
        let i = self.attrs.iter().position(&matches)?;
        // A repeated attribute is A003, not also "unknown".
        for (a, used) in self.attrs.iter().zip(&self.used_attrs) {
            if matches(a) {
                used.set(true);
            }
        }
        self.record(name, true);
        Some(self.attrs[i])
    }

    /// The single nested block of this kind (a second one is A003).
    pub fn block(&self, kind: &'static str) -> Option<&'a Block> {
        let all = self.blocks(kind);
        if let [first, second, ..] = all.as_slice() {
            self.sink.push(
                Diagnostic::error(
                    "A003",
                    second.head,
                    format!("`{kind}` is declared twice in this block"),
                )
                .with_primary_label("declared again here")
                .with_label(first.head, "first declared here")
                .with_help(format!("merge the two `{kind}` blocks into one")),
            );
        }
        all.first().copied()
    }

    /// Every nested block of this kind, in order.
    pub fn blocks(&self, kind: &'static str) -> Vec<&'a Block> {
        self.known_blocks.borrow_mut().push(kind);
        self.record(kind, false);
        let found: Vec<&'a Block> = self
            .blocks
            .iter()
            .enumerate()
            .filter(|(_, b)| b.kind.text == kind)
            .map(|(i, b)| {
                self.used_blocks[i].set(true);
                *b
            })
            .collect();
        if !found.is_empty() {
            self.record(kind, true);
        }
        found
    }

    fn record(&self, name: &str, used: bool) {
        if let Some(cov) = &self.sink.coverage {
            let feature = format!("{}.{name}", self.block.kind.text);
            let mut cov = cov.borrow_mut();
            if used {
                cov.used.insert(feature);
            } else {
                cov.known.insert(feature);
            }
        }
    }

    /// Reports a required attribute that is missing (A007).
    pub fn missing(&self, name: &str, example: &str) {
        self.sink.push(
            Diagnostic::error(
                "A007",
                self.head(),
                format!("`{}` needs `{name}`", self.block_title()),
            )
            .with_primary_label(format!("`{name}` is missing"))
            .with_help(format!("add `{name} = {example}`")),
        );
    }

    /// Reports a required nested block that is missing (A007).
    pub fn missing_block(&self, kind: &str, example: &str) {
        self.sink.push(
            Diagnostic::error(
                "A007",
                self.head(),
                format!("`{}` needs a `{kind}` block", self.block_title()),
            )
            .with_primary_label(format!("`{kind}` is missing"))
            .with_help(format!("add `{example}`")),
        );
    }

    /// `service users`, `route "GET /x"`...
    pub fn block_title(&self) -> String {
        let mut t = self.block.kind.text.clone();
        for l in &self.block.labels {
            if l.quoted {
                t.push_str(&format!(" \"{}\"", l.text));
            } else {
                t.push(' ');
                t.push_str(&l.text);
            }
        }
        t
    }

    /// Reports a value of the wrong type (A005).
    pub fn wrong_type(&self, name: &str, value: &Value, expected: &str) {
        if matches!(value.kind, ValueKind::Invalid) {
            return; // Already reported as a syntax error.
        }
        self.sink.push(
            Diagnostic::error(
                "A005",
                value.span,
                format!(
                    "`{name}` expects {expected}, found {}",
                    value.kind.describe()
                ),
            )
            .with_primary_label(format!("expected {expected}"))
            .with_help(format!("write {expected}")),
        );
    }

    /// Reports a value outside its range (A006).
    pub fn out_of_range(&self, span: Span, message: String, help: impl Into<String>) {
        self.sink.push(
            Diagnostic::error("A006", span, message)
                .with_primary_label("out of range")
                .with_help(help),
        );
    }

    // ---- typed getters -------------------------------------------------------------

    fn quantity(
        &self,
        name: &'static str,
        dim: Dimension,
        rate: bool,
        expected: &str,
    ) -> Option<(f64, Option<f64>, bool, Span)> {
        let a = self.attr(name)?;
        quantity_of(self, name, &a.value, dim, rate, expected)
    }

    /// A duration (never negative: A006).
    pub fn duration(&self, name: &'static str) -> Option<Spanned<Millis>> {
        let (v, _, _, span) =
            self.quantity(name, Dimension::Duration, false, "a duration such as 30s")?;
        if v < 0.0 {
            self.out_of_range(
                span,
                format!("`{name}` cannot be negative"),
                "durations are 0 or more",
            );
            return None;
        }
        Some(Spanned::new(Millis(v), span))
    }

    /// A duration that must be above zero (`timeout`, `interval`, a layer's `ttl`).
    pub fn positive_duration(&self, name: &'static str) -> Option<Spanned<Millis>> {
        let d = self.duration(name)?;
        if d.value.0 <= 0.0 {
            self.out_of_range(
                d.span,
                format!("`{name}` must be longer than zero"),
                format!("set `{name}` to a positive duration such as 1s"),
            );
            return None;
        }
        Some(d)
    }

    /// A size (never negative).
    pub fn size(&self, name: &'static str) -> Option<Spanned<Bytes>> {
        let (v, _, _, span) = self.quantity(name, Dimension::Size, false, "a size such as 4KB")?;
        if v < 0.0 {
            self.out_of_range(
                span,
                format!("`{name}` cannot be negative"),
                "sizes are 0 or more",
            );
            return None;
        }
        Some(Spanned::new(Bytes(v), span))
    }

    /// A percent in 0..=100.
    pub fn percent(&self, name: &'static str) -> Option<Spanned<Percent>> {
        let a = self.attr(name)?;
        percent_of(self, name, &a.value)
    }

    /// A rate of a count, a size or a percent per time; zero or negative is A006.
    pub fn rate(&self, name: &'static str, unit: RateUnit) -> Option<Spanned<Rate>> {
        let a = self.attr(name)?;
        rate_of(self, name, &a.value, unit)
    }

    /// A whole number of at least `min`.
    pub fn int(&self, name: &'static str, min: i64) -> Option<Spanned<u32>> {
        let a = self.attr(name)?;
        int_of(self, name, &a.value, min)
    }

    /// A plain number (may be fractional).
    pub fn number(&self, name: &'static str) -> Option<Spanned<f64>> {
        let (v, _, _, span) = self.quantity(name, Dimension::Count, false, "a number")?;
        Some(Spanned::new(v, span))
    }

    /// `true` or `false`.
    pub fn bool(&self, name: &'static str) -> Option<Spanned<bool>> {
        let a = self.attr(name)?;
        match a.value.kind {
            ValueKind::Bool(b) => Some(Spanned::new(b, a.value.span)),
            _ => {
                self.wrong_type(name, &a.value, "`true` or `false`");
                None
            }
        }
    }

    /// A string.
    pub fn string(&self, name: &'static str) -> Option<Spanned<String>> {
        let a = self.attr(name)?;
        match &a.value.kind {
            ValueKind::String(s) => Some(Spanned::new(s.clone(), a.value.span)),
            _ => {
                self.wrong_type(name, &a.value, "a string in double quotes");
                None
            }
        }
    }

    /// A bare name (an instance class, say), not resolved as a reference.
    pub fn word(&self, name: &'static str) -> Option<Spanned<String>> {
        let a = self.attr(name)?;
        match &a.value.kind {
            ValueKind::Name(s) => Some(Spanned::new(s.clone(), a.value.span)),
            ValueKind::Path(parts) => Some(Spanned::new(
                parts
                    .iter()
                    .map(|p| p.text.as_str())
                    .collect::<Vec<_>>()
                    .join("."),
                a.value.span,
            )),
            ValueKind::String(s) => Some(Spanned::new(s.clone(), a.value.span)),
            _ => {
                self.wrong_type(name, &a.value, "a name");
                None
            }
        }
    }

    /// A list of strings.
    pub fn strings(&self, name: &'static str) -> Option<Spanned<Vec<String>>> {
        let a = self.attr(name)?;
        let items = list_items(self, name, &a.value)?;
        let mut out = Vec::new();
        for v in items {
            match &v.kind {
                ValueKind::String(s) => out.push(s.clone()),
                _ => self.wrong_type(name, v, "a list of strings"),
            }
        }
        Some(Spanned::new(out, a.value.span))
    }

    /// A list of strings, each with its own span.
    pub fn spanned_strings(&self, name: &'static str) -> Vec<Spanned<String>> {
        let Some(a) = self.attr(name) else {
            return Vec::new();
        };
        let items = list_items(self, name, &a.value).unwrap_or_default();
        items
            .into_iter()
            .filter_map(|v| match &v.kind {
                ValueKind::String(s) => Some(Spanned::new(s.clone(), v.span)),
                _ => {
                    self.wrong_type(name, v, "a list of strings");
                    None
                }
            })
            .collect()
    }

    /// A list of column names, normalised (`a-b` is `a_b`), each with its span.
    pub fn column_names(&self, name: &'static str) -> Vec<Spanned<String>> {
        self.names(name)
            .map(|n| {
                n.value
                    .into_iter()
                    .map(|s| Spanned::new(normalize(&s.value), s.span))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// A list of names (column names, enum words), written bare or quoted.
    pub fn names(&self, name: &'static str) -> Option<Spanned<Vec<Spanned<String>>>> {
        let a = self.attr(name)?;
        let items = list_items(self, name, &a.value)?;
        let mut out = Vec::new();
        for v in items {
            match &v.kind {
                ValueKind::Name(s) | ValueKind::String(s) => {
                    out.push(Spanned::new(s.clone(), v.span))
                }
                _ => self.wrong_type(name, v, "a list of names"),
            }
        }
        Some(Spanned::new(out, a.value.span))
    }

    /// One keyword of an enumeration; an unknown word gets the closest valid one.
    pub fn keyword<K: Keyword>(&self, name: &'static str) -> Option<Spanned<K>> {
        let a = self.attr(name)?;
        keyword_of(self, name, &a.value)
    }

    /// A list of keywords.
    pub fn keywords<K: Keyword>(&self, name: &'static str) -> Option<Spanned<Vec<K>>> {
        let a = self.attr(name)?;
        let items = list_items(self, name, &a.value)?;
        let out = items
            .iter()
            .filter_map(|v| keyword_of::<K>(self, name, v).map(|k| k.value))
            .collect();
        Some(Spanned::new(out, a.value.span))
    }

    /// A secret: `env("VAR")` or `file("/path")`; a literal string is A010.
    pub fn secret(&self, name: &'static str) -> Option<Spanned<Secret>> {
        let a = self.attr(name)?;
        match &a.value.kind {
            ValueKind::Call { name: f, args } if f.text == "env" || f.text == "file" => {
                let arg = args.first().and_then(|a| match &a.value.kind {
                    ValueKind::String(s) => Some(s.clone()),
                    _ => None,
                });
                match arg {
                    Some(s) if args.len() == 1 => Some(Spanned::new(
                        if f.text == "env" {
                            Secret::Env(s)
                        } else {
                            Secret::File(s)
                        },
                        a.value.span,
                    )),
                    _ => {
                        self.wrong_type(
                            name,
                            &a.value,
                            &format!("`{}(\"...\")` with one string", f.text),
                        );
                        None
                    }
                }
            }
            ValueKind::String(_) => {
                self.sink.push(
                    Diagnostic::error("A010", a.value.span, format!("`{name}` is a secret and must not be written in the file"))
                        .with_primary_label("a literal secret")
                        .with_help(format!("read it at run time: `{name} = env(\"{}\")` or `{name} = file(\"/run/secrets/{}\")`", name.to_uppercase(), name)),
                );
                None
            }
            _ => {
                self.wrong_type(name, &a.value, "`env(\"VAR\")` or `file(\"/path\")`");
                None
            }
        }
    }

    /// A reference to one component of the given kinds.
    pub fn reference(&self, name: &'static str, kinds: &'static [Kind]) -> Option<Ref> {
        let a = self.attr(name)?;
        match &a.value.kind {
            ValueKind::Name(n) => {
                let r = Ref {
                    name: normalize(n),
                    span: a.value.span,
                };
                self.pending(Target::Component(r.clone()), kinds, &[], name);
                Some(r)
            }
            _ => {
                self.wrong_type(
                    name,
                    &a.value,
                    &format!("the name of a {}", kinds_text(kinds)),
                );
                None
            }
        }
    }

    /// `limit = a` or `limits = [a, b]`, merged.
    pub fn limits(&self) -> Vec<Ref> {
        let mut out: Vec<Ref> = self
            .reference("limit", &[Kind::Limit])
            .into_iter()
            .collect();
        out.extend(
            self.references("limits", &[Kind::Limit])
                .map(|s| s.value)
                .unwrap_or_default(),
        );
        out
    }

    /// A list of references to components of the given kinds.
    pub fn references(
        &self,
        name: &'static str,
        kinds: &'static [Kind],
    ) -> Option<Spanned<Vec<Ref>>> {
        let a = self.attr(name)?;
        let items = list_items(self, name, &a.value)?;
        let mut out = Vec::new();
        for v in items {
            match &v.kind {
                ValueKind::Name(n) => {
                    let r = Ref {
                        name: normalize(n),
                        span: v.span,
                    };
                    self.pending(Target::Component(r.clone()), kinds, &[], name);
                    out.push(r);
                }
                _ => self.wrong_type(name, v, &format!("a list of {} names", kinds_text(kinds))),
            }
        }
        Some(Spanned::new(out, a.value.span))
    }

    /// A list of components or members (`reads = [cache, db.table]`).
    pub fn targets(
        &self,
        name: &'static str,
        kinds: &'static [Kind],
        members: &'static [Member],
    ) -> Option<Spanned<Vec<Target>>> {
        let a = self.attr(name)?;
        let items = list_items(self, name, &a.value)?;
        let out = items
            .iter()
            .filter_map(|v| self.target_of(name, v, kinds, members))
            .collect();
        Some(Spanned::new(out, a.value.span))
    }

    /// One component or member.
    pub fn target(
        &self,
        name: &'static str,
        kinds: &'static [Kind],
        members: &'static [Member],
    ) -> Option<Target> {
        let a = self.attr(name)?;
        self.target_of(name, &a.value, kinds, members)
    }

    fn target_of(
        &self,
        name: &'static str,
        v: &Value,
        kinds: &'static [Kind],
        members: &'static [Member],
    ) -> Option<Target> {
        let t = match &v.kind {
            ValueKind::Name(n) if !kinds.is_empty() => Target::Component(Ref {
                name: normalize(n),
                span: v.span,
            }),
            ValueKind::Path(parts) if !members.is_empty() && parts.len() == 2 => {
                Target::Member(PathRef {
                    parts: parts.iter().map(|p| normalize(&p.text)).collect(),
                    span: v.span,
                })
            }
            _ => {
                let mut expected: Vec<String> = Vec::new();
                if !kinds.is_empty() {
                    expected.push(format!("the name of a {}", kinds_text(kinds)));
                }
                for m in members {
                    expected.push(match m {
                        Member::Table => "`database.table`".to_string(),
                        Member::Endpoint => "`service.endpoint`".to_string(),
                    });
                }
                self.wrong_type(name, v, &expected.join(" or "));
                return None;
            }
        };
        self.pending(t.clone(), kinds, members, name);
        Some(t)
    }

    fn pending(
        &self,
        target: Target,
        kinds: &'static [Kind],
        members: &'static [Member],
        attribute: &str,
    ) {
        self.sink.refs.borrow_mut().push(PendingRef {
            target,
            kinds,
            members,
            attribute: attribute.to_string(),
        });
    }

    /// Reports every attribute and block nobody asked for (A002).
    pub fn finish(self) {
        if !self.map_like {
            let known = self.known_attrs.borrow();
            let known_blocks = self.known_blocks.borrow();
            for (a, used) in self.attrs.iter().zip(&self.used_attrs) {
                if used.get() {
                    continue;
                }
                let key = &a.key.text;
                let mut d = Diagnostic::error(
                    "A002",
                    a.key.span,
                    format!("`{}` has no attribute `{key}`", self.block.kind.text),
                )
                .with_primary_label("unknown attribute");
                let suggestion = closest(&norm_key(key), known.iter().copied());
                let is_block = known_blocks.contains(&key.as_str());
                d.help = Some(match (suggestion, is_block) {
                    (_, true) => format!("`{key}` is a block here: write `{key} {{ ... }}`"),
                    (Some(s), _) => format!("did you mean `{s}`?"),
                    (None, _) => format!(
                        "the attributes of `{}` are: {}",
                        self.block.kind.text,
                        list_words(&known)
                    ),
                });
                self.sink.push(d);
            }
            for (b, used) in self.blocks.iter().zip(&self.used_blocks) {
                if used.get() {
                    continue;
                }
                let kind = &b.kind.text;
                let mut d = Diagnostic::error(
                    "A002",
                    b.kind.span,
                    format!("`{}` has no block `{kind}`", self.block.kind.text),
                )
                .with_primary_label("unknown block");
                let suggestion = closest(kind, known_blocks.iter().copied());
                let is_attr = known.contains(&kind.as_str());
                d.help = Some(match (suggestion, is_attr) {
                    (_, true) => format!("`{kind}` is an attribute here: write `{kind} = value`"),
                    (Some(s), _) => format!("did you mean `{s}`?"),
                    (None, _) if known_blocks.is_empty() => {
                        format!("`{}` has no nested blocks", self.block.kind.text)
                    }
                    (None, _) => format!(
                        "the blocks of `{}` are: {}",
                        self.block.kind.text,
                        list_words(&known_blocks)
                    ),
                });
                self.sink.push(d);
            }
        } else {
            for (b, used) in self.blocks.iter().zip(&self.used_blocks) {
                if !used.get() {
                    self.sink.push(
                        Diagnostic::error(
                            "A002",
                            b.kind.span,
                            format!(
                                "`{}` takes only `key = value` entries",
                                self.block.kind.text
                            ),
                        )
                        .with_primary_label("a nested block is not allowed here")
                        .with_help("write the entry as `key = value`"),
                    );
                }
            }
        }
    }
}

fn list_words(words: &[&str]) -> String {
    let mut w: Vec<&str> = words.to_vec();
    w.sort_unstable();
    w.dedup();
    w.iter()
        .map(|x| format!("`{x}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// "service", "service or cdn".
pub fn kinds_text(kinds: &[Kind]) -> String {
    let names: Vec<&str> = kinds.iter().map(|k| k.word()).collect();
    match names.split_last() {
        None => "component".into(),
        Some((last, [])) => last.to_string(),
        Some((last, rest)) => format!("{} or {}", rest.join(", "), last),
    }
}

/// The items of a list value; a single value where a list is expected is accepted as one item.
pub fn list_items<'v>(r: &Reader, name: &str, v: &'v Value) -> Option<Vec<&'v Value>> {
    match &v.kind {
        ValueKind::List(items) => Some(items.iter().collect()),
        ValueKind::Map(_) => {
            r.wrong_type(name, v, "a list `[a, b]`");
            None
        }
        _ => Some(vec![v]),
    }
}

/// A quantity of the given dimension, as (value, window, integral, span).
pub fn quantity_of(
    r: &Reader,
    name: &str,
    v: &Value,
    dim: Dimension,
    rate: bool,
    expected: &str,
) -> Option<(f64, Option<f64>, bool, Span)> {
    match &v.kind {
        ValueKind::Quantity(q) if q.dimension == dim && q.per_seconds.is_some() == rate => {
            Some((q.value, q.per_seconds, q.integral, v.span))
        }
        _ => {
            r.wrong_type(name, v, expected);
            None
        }
    }
}

/// A percent value in 0..=100.
pub fn percent_of(r: &Reader, name: &str, v: &Value) -> Option<Spanned<Percent>> {
    let (p, _, _, span) = quantity_of(
        r,
        name,
        v,
        Dimension::Percent,
        false,
        "a percent such as 70%",
    )?;
    if !(0.0..=100.0).contains(&p) {
        r.out_of_range(
            span,
            format!("`{name}` is {p}%, outside 0%..100%"),
            "a percent is between 0% and 100%",
        );
        return None;
    }
    Some(Spanned::new(Percent(p), span))
}

/// A positive rate of the given unit.
pub fn rate_of(r: &Reader, name: &str, v: &Value, unit: RateUnit) -> Option<Spanned<Rate>> {
    let (dim, expected) = match unit {
        RateUnit::Count => (Dimension::Count, "a rate such as 100/min"),
        RateUnit::Bytes => (Dimension::Size, "a size rate such as 40GB/mo"),
        RateUnit::Percent => (Dimension::Percent, "a percent rate such as 8%/mo"),
    };
    let (amount, window, _, span) = quantity_of(r, name, v, dim, true, expected)?;
    if amount <= 0.0 {
        r.out_of_range(
            span,
            format!("`{name}` must be above zero"),
            format!("a zero or negative rate never lets anything through; write {expected}"),
        );
        return None;
    }
    Some(Spanned::new(
        Rate {
            amount,
            window_s: window.unwrap_or(1.0),
            unit,
        },
        span,
    ))
}

/// A whole number of at least `min`.
pub fn int_of(r: &Reader, name: &str, v: &Value, min: i64) -> Option<Spanned<u32>> {
    let (n, _, integral, span) =
        quantity_of(r, name, v, Dimension::Count, false, "a whole number")?;
    if !integral || n.fract() != 0.0 {
        r.wrong_type(name, v, "a whole number");
        return None;
    }
    if n < min as f64 {
        r.out_of_range(
            span,
            format!("`{name}` is {n}, below its minimum {min}"),
            format!("set `{name}` to {min} or more"),
        );
        return None;
    }
    if n > u32::MAX as f64 {
        r.out_of_range(
            span,
            format!("`{name}` is too large"),
            "use a smaller number",
        );
        return None;
    }
    Some(Spanned::new(n as u32, span))
}

/// A keyword; an unknown word gets a suggestion.
pub fn keyword_of<K: Keyword>(r: &Reader, name: &str, v: &Value) -> Option<Spanned<K>> {
    let word = match &v.kind {
        ValueKind::Name(w) => normalize(w),
        ValueKind::String(w) => w.clone(),
        _ => {
            r.wrong_type(name, v, &format!("one of {}", list_words(K::WORDS)));
            return None;
        }
    };
    match K::from_word(&word) {
        Some(k) => Some(Spanned::new(k, v.span)),
        None => {
            let hint = closest(&word, K::WORDS.iter().copied())
                .map(|c| format!("did you mean `{c}`? "))
                .unwrap_or_default();
            r.sink.push(
                Diagnostic::error("A005", v.span, format!("`{word}` is not a valid `{name}`"))
                    .with_primary_label("unknown value")
                    .with_help(format!("{hint}`{name}` is one of {}", list_words(K::WORDS))),
            );
            None
        }
    }
}
