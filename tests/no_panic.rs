//! Property tests: no input makes the front end and the rules panic, and every diagnostic
//! points inside its file's text, on character boundaries.
//!
//! (a) arbitrary text: unicode, lossy bytes, and a soup of the language's own tokens;
//! (b) mutations of valid programs (`examples/**/*.arch` plus a few embedded programs):
//!     characters and tokens deleted, inserted, replaced or duplicated, lines swapped,
//!     dropped or repeated, the text truncated.
//!
//! Each property runs 256 cases (override with `PROPTEST_CASES`). A failure is shrunk to a
//! small input and saved under `tests/no_panic.proptest-regressions`; commit that file
//! so the case is replayed first from then on.

use archc::load::{load, Loaded, MemoryReader};
use archc::plan::catalogue::Catalogue;
use proptest::prelude::*;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

// ---------------------------------------------------------------------------------------
// The pipeline and the span invariant
// ---------------------------------------------------------------------------------------

fn catalogue() -> &'static Catalogue {
    static CATALOGUE: OnceLock<Catalogue> = OnceLock::new();
    CATALOGUE.get_or_init(Catalogue::builtin)
}

/// parse + lower + check, the way `archc check` does it, over in-memory files.
fn analyse(root: &Path, files: &[(PathBuf, String)]) -> Loaded {
    let text = files
        .iter()
        .find(|(p, _)| p == root)
        .map(|(_, t)| t.clone())
        .unwrap_or_default();
    let reader = MemoryReader {
        files: files.to_vec(),
    };
    let mut loaded = load(root, text, &reader);
    archc::cli::analyse(&mut loaded, catalogue());
    loaded
}

/// Every span of every diagnostic lies in its file and on character boundaries, and turns
/// into a 1-based line and column.
fn check_spans(loaded: &Loaded) -> Result<(), TestCaseError> {
    let n_files = loaded.sources.len();
    for d in &loaded.diagnostics {
        prop_assert!(
            d.code.len() == 4 && d.code.starts_with('A'),
            "odd code {:?} on {:?}",
            d.code,
            d.message
        );
        prop_assert!(!d.message.is_empty(), "{} has no message", d.code);
        let spans =
            std::iter::once((d.span, "primary")).chain(d.labels.iter().map(|l| (l.span, "label")));
        for (span, what) in spans {
            let context = format!("{} {:?} ({what} span {span:?})", d.code, d.message);
            prop_assert!((span.file.0 as usize) < n_files, "{context}: no such file");
            let file = loaded.sources.file(span.file);
            let (start, end) = (span.start as usize, span.end as usize);
            prop_assert!(start <= end, "{context}: start after end");
            prop_assert!(
                end <= file.text.len(),
                "{context}: ends past the text ({} bytes)",
                file.text.len()
            );
            prop_assert!(
                file.text.is_char_boundary(start),
                "{context}: start inside a character"
            );
            prop_assert!(
                file.text.is_char_boundary(end),
                "{context}: end inside a character"
            );
            let (line, column) = file.line_col(start);
            let (end_line, end_column) = file.line_col(end);
            prop_assert!(
                line >= 1 && column >= 1 && end_line >= line,
                "{context}: bad line/column"
            );
            prop_assert!(
                end_line > line || end_column >= column,
                "{context}: end column before start"
            );
        }
    }
    Ok(())
}

fn check_text(text: &str) -> Result<(), TestCaseError> {
    let root = PathBuf::from("input.arch");
    // Imports in random text resolve against a small library, so import handling is
    // exercised too (found, missing, cycles through `input.arch` itself).
    let files = vec![
        (root.clone(), text.to_string()),
        (
            PathBuf::from("lib.arch"),
            "service lib_svc { replicas = 2 }\n".to_string(),
        ),
        (
            PathBuf::from("dir/x.arch"),
            "import \"../input.arch\"\nqueue q { }\n".to_string(),
        ),
    ];
    check_spans(&analyse(&root, &files))
}

// ---------------------------------------------------------------------------------------
// (a) Arbitrary text
// ---------------------------------------------------------------------------------------

/// Pieces of the language, and pieces that look like it, for a token soup.
const TOKENS: &[&str] = &[
    // kinds, nested blocks and attributes
    "system",
    "region",
    "gateway",
    "service",
    "database",
    "cache",
    "queue",
    "cdn",
    "limit",
    "job",
    "endpoint",
    "consumes",
    "route",
    "table",
    "index",
    "layer",
    "memory",
    "redis",
    "auth",
    "jwt",
    "api_key",
    "cors",
    "retry",
    "breaker",
    "canary",
    "behavior",
    "partition",
    "columns",
    "tiers",
    "traffic",
    "availability",
    "backup",
    "dr",
    "rollout",
    "shed",
    "chaos",
    "health",
    "autoscale",
    "to",
    "from",
    "replicas",
    "ttl",
    "rate",
    "key",
    "shards",
    "shard_by",
    "source",
    "work",
    "share",
    "reads",
    "writes",
    "publishes",
    "calls",
    "dead_letter",
    "attempts",
    "slo",
    "regions",
    "weights",
    "balance",
    "weighted",
    "schedule",
    "runs",
    "on",
    "unique",
    "secret",
    "engine",
    "kafka",
    "import",
    // values
    "0",
    "1",
    "-1",
    "3",
    "1.5",
    "12_000",
    "12k",
    "1.5M",
    "2G",
    "30s",
    "250ms",
    "5m",
    "5min",
    "7d",
    "12mo",
    "1y",
    "0s",
    "-5s",
    "4KB",
    "512MiB",
    "2TB",
    "70%",
    "100%",
    "101%",
    "99.99%",
    "100/min",
    "12k/s",
    "40GB/mo",
    "8%/mo",
    "0/s",
    "3..12",
    "12..3",
    "1d..365d",
    "true",
    "false",
    "30 s",
    "30sec",
    "4Kb",
    "\"GET /a/:id\"",
    "\"POST /x\"",
    "\"*\"",
    "\"\"",
    "\"é😀\"",
    "\"\\u{1F600}\"",
    "\"\\q\"",
    "env(\"X\")",
    "file(\"/s\")",
    "hash(id)",
    "range(id, boundaries = [1, 2])",
    "geo(region, map = { us = 0 })",
    "exponential(1s, max = 5m)",
    "fixed(1s)",
    "zipf(0.9)",
    "header(\"X-T\")",
    "a.b",
    "a.b.c",
    "users_db.users",
    "svc.ep",
    "a-b",
    "a_b",
    "US",
    "X-Id",
    // punctuation and trivia
    "{",
    "}",
    "[",
    "]",
    "(",
    ")",
    "=",
    ",",
    ";",
    ".",
    "..",
    ":",
    "/",
    "*",
    "-",
    "\"",
    "\\",
    "//",
    "/*",
    "*/",
    "\n",
    "\t",
    "é",
    "😀",
    "\u{0}",
    "\u{feff}",
    "\r\n",
];

fn token_soup() -> impl Strategy<Value = String> {
    prop::collection::vec(
        (
            prop::sample::select(TOKENS),
            prop::sample::select(&[" ", " ", "\n", ""][..]),
        ),
        0..80,
    )
    .prop_map(|parts| parts.into_iter().flat_map(|(t, sep)| [t, sep]).collect())
}

fn config() -> ProptestConfig {
    // 256 cases unless PROPTEST_CASES says otherwise.
    let mut c = ProptestConfig::with_cases(256);
    if let Some(n) = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
    {
        c.cases = n;
    }
    c.max_shrink_iters = 2048;
    c
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn arbitrary_unicode_never_panics(text in any::<String>()) {
        check_text(&text)?;
    }

    #[test]
    fn printable_text_never_panics(text in "\\PC{0,300}") {
        check_text(&text)?;
    }

    #[test]
    fn bytes_read_as_text_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..400)) {
        check_text(&String::from_utf8_lossy(&bytes))?;
    }

    #[test]
    fn token_soup_never_panics(text in token_soup()) {
        check_text(&text)?;
    }

    #[test]
    fn token_soup_inside_a_block_never_panics(kind in prop::sample::select(&["system", "gateway", "service", "database", "cache", "queue", "cdn", "limit", "job", "region"][..]), body in token_soup()) {
        check_text(&format!("{kind} x {{\n{body}\n}}\n"))?;
    }
}

// ---------------------------------------------------------------------------------------
// (b) Mutations of valid programs
// ---------------------------------------------------------------------------------------

/// Embedded valid programs, so the property has a corpus even without `examples/`.
const EMBEDDED: &[&str] = &[
    r#"system hello {
  description = "One service, one endpoint"
  slo = 99.9%
  traffic { peak = 200/s  read_ratio = 90% }
}
service greeter {
  replicas = 2..6
  autoscale { cpu = 70% }
  endpoint say_hello { route = "GET /hello"  share = 100%  work = 1ms  wait = 2ms }
}
"#,
    r#"gateway edge {
  tls = true
  auth jwt { issuer = "https://auth.example"  secret = env("JWT_SECRET") }
  route "GET /products/:id" { to = catalog  auth = none  cache { ttl = 60s }  retry { attempts = 2 } }
  route "POST /orders" { to = catalog  timeout = 3s  limit = per_ip }
}
limit per_ip { key = ip  rate = 100/min  burst = 20  block = 5m }
service catalog {
  replicas = 3
  endpoint get_product { route = "GET /products/:id"  work = 2ms  reads = [products]  publishes = [views]  calls = [catalog.create] }
  endpoint create { route = "POST /orders"  work = 5ms  writes = [catalog_db.products] }
  consumes counter { from = views  work = 1ms  concurrency = 2 }
}
cache products {
  source = catalog_db.products
  keys = 2M  value = 4KB  popularity = zipf(0.9)
  layer memory { entries = 20k  ttl = 30s }
  layer redis { nodes = 3  memory = 16GB  ttl = 10m }
  invalidate { on = [views] }
}
database catalog_db {
  shards = 4
  shard_by = hash(id)
  table products {
    columns { id = bigint  sku = varchar(32)  title = text }
    key = id
    index sku_unique { on = [sku]  unique = true }
    queries = ["by sku", "search title"]
  }
}
queue views { engine = kafka  partitions = 6  dead_letter = views_dlq  retry { attempts = 3  backoff = exponential(1s, max = 5m) } }
queue views_dlq { retry { attempts = 0 } }
job nightly { schedule = "30 2 * * *"  runs = catalog.create }
cdn front { origin = edge  behavior "/assets/*" { min_ttl = 1d  ttl = 30d  max_ttl = 1y } }
"#,
];

/// One program: its root and every file it may import.
#[derive(Debug, Clone)]
struct Program {
    root: PathBuf,
    files: Vec<(PathBuf, String)>,
}

fn arch_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            arch_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "arch") {
            out.push(p);
        }
    }
}

/// The corpus: every example file as a root (with all example files readable, so imports
/// resolve) plus the embedded programs.
fn corpus() -> &'static [Program] {
    static CORPUS: OnceLock<Vec<Program>> = OnceLock::new();
    CORPUS.get_or_init(|| {
        let base = Path::new(env!("CARGO_MANIFEST_DIR"));
        let mut paths = Vec::new();
        arch_files(&base.join("examples"), &mut paths);
        paths.sort();
        let example_files: Vec<(PathBuf, String)> = paths
            .iter()
            .filter_map(|p| {
                let rel = p.strip_prefix(base).ok()?.to_path_buf();
                Some((rel, std::fs::read_to_string(p).ok()?))
            })
            .collect();
        let mut programs: Vec<Program> = example_files
            .iter()
            .map(|(root, _)| Program {
                root: root.clone(),
                files: example_files.clone(),
            })
            .collect();
        for (i, text) in EMBEDDED.iter().enumerate() {
            let root = PathBuf::from(format!("embedded{i}.arch"));
            programs.push(Program {
                root: root.clone(),
                files: vec![(root, text.to_string())],
            });
        }
        programs
    })
}

#[derive(Debug, Clone)]
enum Mutation {
    DeleteChar(usize),
    InsertChar(usize, char),
    ReplaceChar(usize, char),
    DeleteToken(usize),
    InsertToken(usize, &'static str),
    ReplaceToken(usize, &'static str),
    /// Replace a token with another token of the same file (keeps names in vocabulary).
    CopyToken(usize, usize),
    DuplicateToken(usize),
    SwapLines(usize, usize),
    DeleteLine(usize),
    DuplicateLine(usize),
    DeleteRange(usize, usize),
    Truncate(usize),
}

fn interesting_char() -> impl Strategy<Value = char> {
    prop_oneof![
        3 => prop::sample::select(&['{', '}', '[', ']', '(', ')', '=', '"', ',', '.', '-', '_', '/', '*', '%', '\\', '\n', ' ', '0', '9', 'a', 'Z', 'é', '😀', '\u{0}'][..]),
        1 => any::<char>(),
    ]
}

fn mutation() -> impl Strategy<Value = Mutation> {
    let token = prop::sample::select(TOKENS);
    prop_oneof![
        1 => any::<usize>().prop_map(Mutation::DeleteChar),
        1 => (any::<usize>(), interesting_char()).prop_map(|(i, c)| Mutation::InsertChar(i, c)),
        1 => (any::<usize>(), interesting_char()).prop_map(|(i, c)| Mutation::ReplaceChar(i, c)),
        1 => any::<usize>().prop_map(Mutation::DeleteToken),
        1 => (any::<usize>(), token.clone()).prop_map(|(i, t)| Mutation::InsertToken(i, t)),
        3 => (any::<usize>(), token).prop_map(|(i, t)| Mutation::ReplaceToken(i, t)),
        3 => (any::<usize>(), any::<usize>()).prop_map(|(i, j)| Mutation::CopyToken(i, j)),
        1 => any::<usize>().prop_map(Mutation::DuplicateToken),
        1 => (any::<usize>(), any::<usize>()).prop_map(|(i, j)| Mutation::SwapLines(i, j)),
        1 => any::<usize>().prop_map(Mutation::DeleteLine),
        1 => any::<usize>().prop_map(Mutation::DuplicateLine),
        1 => (any::<usize>(), 1usize..200).prop_map(|(i, n)| Mutation::DeleteRange(i, n)),
        1 => any::<usize>().prop_map(Mutation::Truncate),
    ]
}

/// Byte offsets of every character boundary, end included.
fn boundaries(text: &str) -> Vec<usize> {
    text.char_indices()
        .map(|(i, _)| i)
        .chain(std::iter::once(text.len()))
        .collect()
}

/// Tokens as byte ranges: runs of name/number characters, strings, or single other characters.
fn tokens(text: &str) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut chars = text.char_indices().peekable();
    while let Some((start, c)) = chars.next() {
        if c.is_whitespace() {
            continue;
        }
        let mut end = start + c.len_utf8();
        if c.is_alphanumeric() || c == '_' {
            while let Some(&(i, d)) = chars.peek() {
                if d.is_alphanumeric() || matches!(d, '_' | '-' | '%' | '.') {
                    end = i + d.len_utf8();
                    chars.next();
                } else {
                    break;
                }
            }
        } else if c == '"' {
            for (i, d) in chars.by_ref() {
                end = i + d.len_utf8();
                if d == '"' || d == '\n' {
                    break;
                }
            }
        }
        out.push((start, end));
    }
    out
}

fn lines(text: &str) -> Vec<&str> {
    text.split_inclusive('\n').collect()
}

/// `i` reduced to a position in a collection of `len` items (`len` > 0).
fn pick(i: usize, len: usize) -> usize {
    i % len
}

fn apply(text: &str, m: &Mutation) -> String {
    let b = boundaries(text);
    let at = |i: &usize| b[pick(*i, b.len())];
    let toks = tokens(text);
    let tok = |i: &usize| (!toks.is_empty()).then(|| toks[pick(*i, toks.len())]);
    let splice =
        |start: usize, end: usize, with: &str| format!("{}{with}{}", &text[..start], &text[end..]);
    match m {
        Mutation::DeleteChar(i) => {
            let s = at(i);
            let e = text[s..].chars().next().map_or(s, |c| s + c.len_utf8());
            splice(s, e, "")
        }
        Mutation::InsertChar(i, c) => splice(at(i), at(i), &c.to_string()),
        Mutation::ReplaceChar(i, c) => {
            let s = at(i);
            let e = text[s..].chars().next().map_or(s, |c| s + c.len_utf8());
            splice(s, e, &c.to_string())
        }
        Mutation::DeleteToken(i) => {
            tok(i).map_or_else(|| text.to_string(), |(s, e)| splice(s, e, ""))
        }
        Mutation::InsertToken(i, t) => {
            let s = tok(i).map_or(0, |(s, _)| s);
            splice(s, s, &format!("{t} "))
        }
        Mutation::ReplaceToken(i, t) => {
            tok(i).map_or_else(|| text.to_string(), |(s, e)| splice(s, e, t))
        }
        Mutation::CopyToken(i, j) => match (tok(i), tok(j)) {
            (Some((s, e)), Some((s2, e2))) => splice(s, e, &text[s2..e2]),
            _ => text.to_string(),
        },
        Mutation::DuplicateToken(i) => tok(i).map_or_else(
            || text.to_string(),
            |(s, e)| splice(e, e, &format!(" {}", &text[s..e])),
        ),
        Mutation::SwapLines(i, j) => {
            let mut ls = lines(text);
            if ls.len() < 2 {
                return text.to_string();
            }
            let (a, b) = (pick(*i, ls.len()), pick(*j, ls.len()));
            ls.swap(a, b);
            ls.concat()
        }
        Mutation::DeleteLine(i) => {
            let mut ls = lines(text);
            if !ls.is_empty() {
                let k = pick(*i, ls.len());
                ls.remove(k);
            }
            ls.concat()
        }
        Mutation::DuplicateLine(i) => {
            let mut ls = lines(text);
            if !ls.is_empty() {
                let k = pick(*i, ls.len());
                ls.insert(k, ls[k]);
            }
            ls.concat()
        }
        Mutation::DeleteRange(i, n) => {
            let k = pick(*i, b.len());
            let end = b[(k + n).min(b.len() - 1)];
            splice(b[k], end, "")
        }
        Mutation::Truncate(i) => text[..at(i)].to_string(),
    }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn mutated_programs_never_panic(
        program in any::<usize>(),
        which_file in any::<usize>(),
        mutations in prop::collection::vec(mutation(), 1..8),
    ) {
        let corpus = corpus();
        let mut p = corpus[pick(program, corpus.len())].clone();
        // Mutate the root most of the time, sometimes a file it imports.
        let k = if pick(which_file, 4) == 0 { pick(which_file / 4, p.files.len()) } else {
            p.files.iter().position(|(f, _)| f == &p.root).unwrap_or(0)
        };
        let mut text = p.files[k].1.clone();
        for m in &mutations {
            text = apply(&text, m);
        }
        p.files[k].1 = text;
        check_spans(&analyse(&p.root, &p.files))?;
    }
}

// ---------------------------------------------------------------------------------------
// Sanity: the corpus is valid to begin with, and the mutator does what it says
// ---------------------------------------------------------------------------------------

#[test]
fn embedded_programs_parse_and_lower_cleanly() {
    for (i, text) in EMBEDDED.iter().enumerate() {
        let root = PathBuf::from(format!("embedded{i}.arch"));
        let loaded = analyse(&root, &[(root.clone(), text.to_string())]);
        let errors: Vec<String> = loaded
            .diagnostics
            .iter()
            .filter(|d| {
                matches!(
                    d.code,
                    "A001"
                        | "A002"
                        | "A003"
                        | "A004"
                        | "A005"
                        | "A006"
                        | "A007"
                        | "A008"
                        | "A009"
                        | "A010"
                )
            })
            .map(|d| format!("{} {}", d.code, d.message))
            .collect();
        assert!(
            errors.is_empty(),
            "embedded program {i} is not valid syntax/names/types:\n{}",
            errors.join("\n")
        );
        assert!(!loaded.incomplete);
    }
}

#[test]
fn corpus_includes_the_examples() {
    let n_examples = corpus()
        .iter()
        .filter(|p| p.root.starts_with("examples"))
        .count();
    if Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("examples")
        .is_dir()
    {
        assert!(n_examples > 0, "examples/ exists but no *.arch was found");
    }
    for p in corpus() {
        let loaded = analyse(&p.root, &p.files);
        assert!(!loaded.incomplete, "{} does not parse", p.root.display());
        check_spans(&loaded).unwrap_or_else(|e| panic!("{}: {e}", p.root.display()));
    }
}

#[test]
fn mutations_keep_text_valid_utf8_and_change_it() {
    let text = "service é😀 {\n  replicas = 2\n}\n";
    let all = [
        Mutation::DeleteChar(3),
        Mutation::InsertChar(9, '😀'),
        Mutation::ReplaceChar(9, 'x'),
        Mutation::DeleteToken(1),
        Mutation::InsertToken(2, "30s"),
        Mutation::ReplaceToken(4, "70%"),
        Mutation::CopyToken(0, 4),
        Mutation::DuplicateToken(0),
        Mutation::SwapLines(0, usize::MAX / 2),
        Mutation::DeleteLine(1),
        Mutation::DuplicateLine(1),
        Mutation::DeleteRange(5, 7),
        Mutation::Truncate(usize::MAX / 3),
    ];
    for m in &all {
        let out = apply(text, m);
        assert_ne!(out, text, "{m:?} changed nothing");
    }
    assert_eq!(tokens("a = \"x y\" [1,2]").len(), 8);
}

/// The mutation property is only worth its time if many mutants still parse, so that lowering
/// and the rules run on them (a file with a syntax error skips the rules).
#[test]
fn many_mutants_still_reach_the_rules() {
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;
    let mut runner = TestRunner::deterministic();
    let strategy = (any::<usize>(), prop::collection::vec(mutation(), 1..4));
    let corpus = corpus();
    let (mut parsed, total) = (0, 200);
    for _ in 0..total {
        let (program, mutations) = strategy.new_tree(&mut runner).expect("value").current();
        let mut p = corpus[pick(program, corpus.len())].clone();
        let k = p.files.iter().position(|(f, _)| f == &p.root).unwrap_or(0);
        for m in &mutations {
            p.files[k].1 = apply(&p.files[k].1, m);
        }
        if !analyse(&p.root, &p.files).incomplete {
            parsed += 1;
        }
    }
    eprintln!("{parsed} of {total} mutants parse");
    assert!(
        parsed * 5 >= total,
        "only {parsed} of {total} mutants parse"
    );
}
