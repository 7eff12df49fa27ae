//! pest pairs → AST, and pest errors → diagnostics that say what was expected in words.

use super::ast::*;
use super::literal::{parse_quantity, Quantity};
use crate::diagnostic::Diagnostic;
use crate::source::{FileId, Span};
use pest::iterators::Pair;
use pest::Parser;

#[derive(pest_derive::Parser)]
#[grammar = "../grammar/arch.pest"]
struct ArchParser;

/// Parses one file. On a syntax error the file is empty and the error is in the diagnostics;
/// literal problems (unknown units, `30 s`) are reported without stopping the parse.
pub fn parse(file: FileId, text: &str) -> (File, Vec<Diagnostic>) {
    let cuts = match scan_nesting(file, text) {
        Ok(cuts) => cuts,
        Err(d) => return (File::default(), vec![*d]),
    };
    parse_in_pieces(file, text, &cuts).unwrap_or_else(|| parse_whole(file, text))
}

/// Parses the file in one pest call.
fn parse_whole(file: FileId, text: &str) -> (File, Vec<Diagnostic>) {
    let mut ast = File::default();
    let mut diagnostics = Vec::new();
    match parse_piece(file, text, 0, &mut ast, &mut diagnostics) {
        Ok(()) => {
            ast.complete = true;
            (ast, diagnostics)
        }
        Err(error) => (File::default(), vec![syntax_error(file, text, &error)]),
    }
}

/// Parses `piece`, which starts at `offset` in the file, and appends its items to `ast`.
fn parse_piece(
    file: FileId,
    piece: &str,
    offset: usize,
    ast: &mut File,
    diagnostics: &mut Vec<Diagnostic>,
) -> Result<(), Box<pest::error::Error<Rule>>> {
    let pairs = ArchParser::parse(Rule::file, piece).map_err(Box::new)?;
    let mut lower = Lower {
        file,
        offset,
        diagnostics,
    };
    for p in pairs {
        lower.file(p, ast);
    }
    Ok(())
}

/// Pieces of about this many bytes are parsed one at a time.
const PIECE_BYTES: usize = 8 * 1024;

/// Parses a large file a few top-level blocks at a time, so pest's token queue never holds
/// more than one piece (at 10,000 components the whole-file queue is most of the peak
/// memory, and the page faults to fill it most of the parse time). The pieces end where a
/// top-level block closes, so they are item sequences of `file` and their ASTs concatenate
/// to the whole file's. `None` when the file is small or a piece does not parse: the caller
/// then parses the whole file, so a syntax error reads exactly as it would without pieces.
fn parse_in_pieces(file: FileId, text: &str, cuts: &[usize]) -> Option<(File, Vec<Diagnostic>)> {
    if text.len() <= PIECE_BYTES {
        return None;
    }
    let mut ast = File::default();
    let mut diagnostics = Vec::new();
    let mut start = 0;
    let ends = cuts
        .iter()
        .copied()
        .filter(|&end| end < text.len())
        .chain(std::iter::once(text.len()));
    for end in ends {
        if end - start < PIECE_BYTES && end < text.len() {
            continue;
        }
        parse_piece(file, &text[start..end], start, &mut ast, &mut diagnostics).ok()?;
        start = end;
    }
    ast.complete = true;
    Some((ast, diagnostics))
}

struct Lower<'d> {
    file: FileId,
    /// Where the parsed piece starts in the file.
    offset: usize,
    diagnostics: &'d mut Vec<Diagnostic>,
}

impl Lower<'_> {
    fn span(&self, pair: &Pair<Rule>) -> Span {
        let s = pair.as_span();
        Span::new(self.file, self.offset + s.start(), self.offset + s.end())
    }

    fn file(&mut self, pair: Pair<Rule>, file: &mut File) {
        for item in pair.into_inner() {
            match item.as_rule() {
                Rule::import => {
                    let span = self.span(&item);
                    let path = item
                        .into_inner()
                        .next()
                        .map(|s| self.string(s))
                        .unwrap_or_default();
                    file.imports.push(Import { path, span });
                }
                Rule::block => file.blocks.push(self.block(item)),
                _ => {}
            }
        }
    }

    fn ident(&self, pair: Pair<Rule>) -> Ident {
        Ident {
            span: self.span(&pair),
            text: pair.as_str().to_string(),
        }
    }

    fn block(&mut self, pair: Pair<Rule>) -> Block {
        let span = self.span(&pair);
        let mut inner = pair.into_inner();
        let kind = inner
            .next()
            .map(|p| self.ident(p))
            .unwrap_or_else(|| Ident {
                text: String::new(),
                span,
            });
        let mut head = kind.span;
        let mut labels = Vec::new();
        let mut items = Vec::new();
        for p in inner {
            match p.as_rule() {
                Rule::label => {
                    let label_span = self.span(&p);
                    head = head.to(label_span);
                    if let Some(l) = p.into_inner().next() {
                        let quoted = l.as_rule() == Rule::string;
                        let text = if quoted {
                            self.string(l)
                        } else {
                            l.as_str().to_string()
                        };
                        labels.push(Label {
                            text,
                            quoted,
                            span: label_span,
                        });
                    }
                }
                Rule::attribute => items.push(Item::Attribute(self.attribute(p))),
                Rule::block => items.push(Item::Block(self.block(p))),
                _ => {}
            }
        }
        Block {
            kind,
            labels,
            items,
            span,
            head,
        }
    }

    fn attribute(&mut self, pair: Pair<Rule>) -> Attribute {
        let span = self.span(&pair);
        let mut inner = pair.into_inner();
        let key = match inner.next() {
            Some(k) => self.key(k),
            None => Key {
                text: String::new(),
                form: KeyForm::Ident,
                span,
            },
        };
        let value = match inner.next() {
            Some(v) => self.value(v),
            None => Value {
                kind: ValueKind::Bool(false),
                span,
            },
        };
        Attribute { key, value, span }
    }

    fn key(&mut self, pair: Pair<Rule>) -> Key {
        let span = self.span(&pair);
        match pair.into_inner().next() {
            Some(k) if k.as_rule() == Rule::string => Key {
                text: self.string(k),
                form: KeyForm::String,
                span,
            },
            Some(k) if k.as_rule() == Rule::integer => Key {
                text: k.as_str().to_string(),
                form: KeyForm::Integer,
                span,
            },
            Some(k) => Key {
                text: k.as_str().to_string(),
                form: KeyForm::Ident,
                span,
            },
            None => Key {
                text: String::new(),
                form: KeyForm::Ident,
                span,
            },
        }
    }

    fn value(&mut self, pair: Pair<Rule>) -> Value {
        // `value` wraps exactly one alternative.
        let span = self.span(&pair);
        let inner = match pair.as_rule() {
            Rule::value => match pair.into_inner().next() {
                Some(p) => p,
                None => {
                    return Value {
                        kind: ValueKind::Bool(false),
                        span,
                    }
                }
            },
            _ => pair,
        };
        let kind = match inner.as_rule() {
            Rule::number => self.number(inner, span),
            Rule::string => ValueKind::String(self.string(inner)),
            Rule::boolean => ValueKind::Bool(inner.as_str() == "true"),
            Rule::list => ValueKind::List(inner.into_inner().map(|p| self.value(p)).collect()),
            Rule::map => ValueKind::Map(
                inner
                    .into_inner()
                    .filter(|p| p.as_rule() == Rule::attribute)
                    .map(|p| self.attribute(p))
                    .collect(),
            ),
            Rule::call => {
                let mut parts = inner.into_inner();
                let name = match parts.next() {
                    Some(p) => self.ident(p),
                    None => Ident {
                        text: String::new(),
                        span,
                    },
                };
                let args = parts.map(|a| self.arg(a)).collect();
                ValueKind::Call { name, args }
            }
            Rule::path => ValueKind::Path(inner.into_inner().map(|p| self.ident(p)).collect()),
            Rule::ident => ValueKind::Name(inner.as_str().to_string()),
            _ => ValueKind::Name(inner.as_str().to_string()),
        };
        Value { kind, span }
    }

    /// `quantity`, `quantity..quantity` or `quantity unit` (a space inside: A001 with a fix).
    fn number(&mut self, pair: Pair<Rule>, span: Span) -> ValueKind {
        let text = pair.as_str();
        let mut parts = pair.into_inner();
        let Some(first) = parts.next() else {
            return ValueKind::Invalid;
        };
        let first_span = self.span(&first);
        let first_text = first.as_str();
        match parts.next() {
            None => self
                .quantity(first_text, span)
                .map_or(ValueKind::Invalid, ValueKind::Quantity),
            Some(tail) if tail.as_rule() == Rule::range_tail => {
                let Some(high) = tail.into_inner().next() else {
                    return ValueKind::Invalid;
                };
                let high_span = self.span(&high);
                let side = |lower: &mut Self, t: &str, s: Span| Value {
                    kind: lower
                        .quantity(t, s)
                        .map_or(ValueKind::Invalid, ValueKind::Quantity),
                    span: s,
                };
                let low = side(self, first_text, first_span);
                let high = side(self, high.as_str(), high_span);
                ValueKind::Range(Box::new(low), Box::new(high))
            }
            Some(_) => {
                let compact: String = text.split_whitespace().collect();
                self.diagnostics.push(
                    Diagnostic::error(
                        "A001",
                        span,
                        format!("no whitespace is allowed inside a literal: `{text}`"),
                    )
                    .with_primary_label("a number and its unit must touch")
                    .with_help(format!("write `{compact}`")),
                );
                self.quantity(&compact, span)
                    .map_or(ValueKind::Invalid, ValueKind::Quantity)
            }
        }
    }

    fn arg(&mut self, pair: Pair<Rule>) -> Arg {
        let Some(inner) = pair.into_inner().next() else {
            return Arg {
                name: None,
                value: Value {
                    kind: ValueKind::Bool(false),
                    span: Span::default(),
                },
            };
        };
        if inner.as_rule() == Rule::named_arg {
            let mut parts = inner.into_inner();
            let name = parts.next().map(|p| self.ident(p));
            let value = match parts.next() {
                Some(v) => self.value(v),
                None => Value {
                    kind: ValueKind::Bool(false),
                    span: Span::default(),
                },
            };
            Arg { name, value }
        } else {
            Arg {
                name: None,
                value: self.value(inner),
            }
        }
    }

    fn quantity(&mut self, text: &str, span: Span) -> Option<Quantity> {
        match parse_quantity(text) {
            Ok(q) => Some(q),
            Err(e) => {
                self.diagnostics.push(
                    Diagnostic::error("A001", span, e.message)
                        .with_primary_label("not a valid literal")
                        .with_help(e.help),
                );
                None
            }
        }
    }

    fn string(&mut self, pair: Pair<Rule>) -> String {
        let raw = pair
            .into_inner()
            .next()
            .map(|p| p.as_str())
            .unwrap_or_default();
        unescape(raw)
    }
}

fn unescape(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    let mut chars = raw.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('n') => out.push('\n'),
            Some('t') => out.push('\t'),
            Some('u') => {
                let hex: String = chars.by_ref().skip(1).take_while(|c| *c != '}').collect();
                if let Some(ch) = u32::from_str_radix(&hex, 16).ok().and_then(char::from_u32) {
                    out.push(ch);
                }
            }
            Some(other) => out.push(other),
            None => {}
        }
    }
    out
}

/// How deep blocks, lists, calls and nested comments may go. Real files stay far below;
/// the bound keeps the recursive-descent parser from exhausting the stack on hostile input.
pub const MAX_NESTING: usize = 64;

/// Scans brackets, skipping strings and comments: the first place where nesting exceeds
/// [`MAX_NESTING`] is an error; otherwise the offsets just after each `}` that closes a
/// top-level block, where the file can be cut into pieces.
fn scan_nesting(file: FileId, text: &str) -> Result<Vec<usize>, Box<Diagnostic>> {
    let bytes = text.as_bytes();
    let mut cuts = Vec::new();
    let (mut depth, mut comment_depth, mut i) = (0usize, 0usize, 0usize);
    let mut in_string = false;
    while i < bytes.len() {
        let b = bytes[i];
        let next = bytes.get(i + 1).copied();
        if comment_depth > 0 {
            if b == b'/' && next == Some(b'*') {
                comment_depth += 1;
                i += 1;
            } else if b == b'*' && next == Some(b'/') {
                comment_depth -= 1;
                i += 1;
            }
        } else if in_string {
            if b == b'\\' {
                i += 1;
            } else if b == b'"' || b == b'\n' {
                in_string = false;
            }
        } else {
            match b {
                b'"' => in_string = true,
                b'/' if next == Some(b'/') => {
                    while i < bytes.len() && bytes[i] != b'\n' {
                        i += 1;
                    }
                }
                b'/' if next == Some(b'*') => {
                    comment_depth = 1;
                    i += 1;
                }
                b'{' | b'[' | b'(' => depth += 1,
                b'}' if depth == 1 => {
                    depth = 0;
                    cuts.push(i + 1);
                }
                b'}' | b']' | b')' => depth = depth.saturating_sub(1),
                _ => {}
            }
        }
        if depth > MAX_NESTING || comment_depth > MAX_NESTING {
            let what = if comment_depth > MAX_NESTING {
                "comments"
            } else {
                "blocks, lists and calls"
            };
            return Err(Box::new(
                Diagnostic::error(
                    "A001",
                    Span::new(file, i, i + 1),
                    format!("{what} are nested more than {MAX_NESTING} levels deep"),
                )
                .with_primary_label("too deep")
                .with_help("flatten the structure: no real architecture needs this depth"),
            ));
        }
        i += 1;
    }
    Ok(cuts)
}

/// Words for what the grammar expected, by rule.
fn expected_words(rule: &Rule) -> Option<&'static str> {
    Some(match rule {
        Rule::value
        | Rule::quantity
        | Rule::number
        | Rule::range_tail
        | Rule::list
        | Rule::map
        | Rule::call
        | Rule::path
        | Rule::boolean => "a value such as 30s, \"text\" or a name",
        Rule::string | Rule::string_inner => "a string in double quotes",
        Rule::escape => "an escape such as \\n, \\\", \\\\ or \\u{1F600}",
        Rule::ident | Rule::label => "a name",
        Rule::key => "an attribute name",
        Rule::attribute | Rule::block => "an attribute (`name = value`), a nested block or `}`",
        Rule::import => "`import \"file.arch\"` or a block",
        Rule::arg | Rule::named_arg => "an argument",
        Rule::EOI => "the end of the file",
        Rule::integer => "an integer",
        _ => return None,
    })
}

fn syntax_error(file: FileId, text: &str, error: &pest::error::Error<Rule>) -> Diagnostic {
    use pest::error::{ErrorVariant, InputLocation};
    let (start, end) = match error.location {
        InputLocation::Pos(p) => (p, p),
        InputLocation::Span((s, e)) => (s, e),
    };
    // Point at the offending token rather than at an empty position.
    let token_end = text[start..]
        .char_indices()
        .find(|(i, c)| *i > 0 && (c.is_whitespace() || "{}[](),=\"".contains(*c)))
        .map(|(i, _)| start + i)
        .unwrap_or(text.len())
        .max(end);
    let end = if token_end > start {
        token_end
    } else {
        (start + 1).min(text.len())
    };
    let span = Span::new(file, start, end);
    let found = describe_found(text, start);
    let mut expected: Vec<&'static str> = match &error.variant {
        ErrorVariant::ParsingError { positives, .. } => {
            positives.iter().filter_map(expected_words).collect()
        }
        ErrorVariant::CustomError { .. } => Vec::new(),
    };
    expected.sort_unstable();
    expected.dedup();
    let context = context_hint(text, start);
    let expected_text = match expected.len() {
        0 => "something else".to_string(),
        1 => expected[0].to_string(),
        _ => {
            let (last, rest) = expected
                .split_last()
                .map(|(l, r)| (*l, r))
                .unwrap_or(("", &[]));
            format!("{} or {}", rest.join(", "), last)
        }
    };
    let mut d = Diagnostic::error(
        "A001",
        span,
        format!("expected {expected_text}, found {found}"),
    )
    .with_primary_label(format!("expected {expected_text}"));
    d.help = Some(context.unwrap_or_else(|| {
        "blocks look like `kind name { attribute = value }`; values are literals (30s, 4GB, 70%, 100/min), strings, names, lists [a, b] or calls f(x)".to_string()
    }));
    d
}

fn describe_found(text: &str, at: usize) -> String {
    match text[at..].chars().next() {
        None => "the end of the file".to_string(),
        Some(c) if c == '\n' || c == '\r' => "the end of the line".to_string(),
        Some(_) => {
            let token: String = text[at..]
                .chars()
                .take_while(|c| !c.is_whitespace())
                .take(20)
                .collect();
            format!("`{token}`")
        }
    }
}

fn context_hint(text: &str, at: usize) -> Option<String> {
    let rest = &text[at..];
    let before = text[..at].trim_end();
    if rest.starts_with(':') {
        return Some("attributes use `=`, not `:`: write `name = value`".into());
    }
    if rest.is_empty() && text.matches('{').count() > text.matches('}').count() {
        return Some("a block is not closed: add the missing `}`".into());
    }
    if before.ends_with('=') && rest.starts_with('\'') {
        return Some("strings use double quotes: \"text\"".into());
    }
    if rest.starts_with(|c: char| c.is_ascii_uppercase()) && before.ends_with(['{', '}']) {
        return Some("names are lowercase: `[a-z][a-z0-9_-]*`".into());
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(text: &str) -> File {
        let (f, d) = parse(FileId(0), text);
        assert!(d.is_empty(), "unexpected diagnostics: {d:?}");
        f
    }

    #[test]
    fn parses_blocks_attributes_and_values() {
        let f = ok(r#"
            // a comment /* not nested here */
            import "other.arch"
            /* outer /* nested */ still comment */
            service users {
              replicas = 2..10; port = 8081,
              endpoint get { route = "GET /u/:id" reads = [db.users] work = 2ms }
              x = hash(user_id, parts = 4)
              m = { us = 0  eu = 1 }
            }
        "#);
        assert_eq!(f.imports.len(), 1);
        assert_eq!(f.blocks.len(), 1);
        assert_eq!(f.blocks[0].items.len(), 5);
    }

    /// A file of `n` blocks whose strings and comments hold braces, so only a scanner that
    /// skips them cuts it in the right places.
    fn large_file(n: usize) -> String {
        let mut text = String::from("import \"shared.arch\"\n");
        for i in 0..n {
            text.push_str(&format!(
                "service s{i} {{ // a }} in a comment\n  /* a {{ in /* a nested */ comment */\n  \
                 port = {i}\n  note = \"}} {{ \\\" }}\"\n  endpoint get \"/x/{{id}}\" {{ latency = 30 s, \
                 tags = [a, b.c, f(x = 1)] }}\n}}\n"
            ));
        }
        text
    }

    #[test]
    fn pieces_parse_as_the_whole_file() {
        let text = large_file(2_000);
        assert!(text.len() > 4 * PIECE_BYTES, "the file is cut into pieces");
        let (whole, whole_diags) = parse_whole(FileId(0), &text);
        let cuts = scan_nesting(FileId(0), &text).expect("not too deep");
        let (pieces, piece_diags) =
            parse_in_pieces(FileId(0), &text, &cuts).expect("every piece parses on its own");
        assert_eq!(pieces.blocks.len(), 2_000);
        assert_eq!(format!("{pieces:?}"), format!("{whole:?}"));
        // One `30 s` fix per block, at the same places.
        assert_eq!(piece_diags.len(), 2_000);
        assert_eq!(format!("{piece_diags:?}"), format!("{whole_diags:?}"));
    }

    #[test]
    fn a_syntax_error_in_a_large_file_reads_as_in_a_small_one() {
        let mut text = large_file(1_000);
        text.push_str("service broken { port = }\n");
        text.push_str(&large_file(10));
        let (file, d) = parse(FileId(0), &text);
        assert!(!file.complete);
        assert_eq!(d.len(), 1);
        assert_eq!(d[0].code, "A001");
        let at = text.find("port = }").map(|i| i + "port = ".len());
        assert_eq!(Some(d[0].span.start as usize), at);
        let (_, whole) = parse_whole(FileId(0), &text);
        assert_eq!(format!("{d:?}"), format!("{whole:?}"));
    }

    #[test]
    fn syntax_errors_use_words() {
        let (_, d) = parse(FileId(0), "service a { port = }");
        assert_eq!(d.len(), 1);
        assert_eq!(d[0].code, "A001");
        assert!(d[0].message.contains("a value such as"), "{}", d[0].message);
        assert!(!d[0].message.contains("Rule"), "{}", d[0].message);
    }

    #[test]
    fn spaced_literal_gets_a_fix() {
        let (f, d) = parse(FileId(0), "cache c { ttl = 30 s }");
        assert_eq!(f.blocks.len(), 1);
        assert_eq!(d.len(), 1);
        assert_eq!(d[0].help.as_deref(), Some("write `30s`"));
    }

    #[test]
    fn strings_unescape() {
        let f = ok(r#"a b { s = "q\"\\\n\u{41}" }"#);
        let Item::Attribute(a) = &f.blocks[0].items[0] else {
            panic!("attribute expected")
        };
        assert!(matches!(&a.value.kind, ValueKind::String(s) if s == "q\"\\\nA"));
    }
}
