//! Fuzz target: any UTF-8 text through parse, lower and every check rule, the way
//! `archc check` runs them. Fails on a panic, a crash, or a diagnostic whose span is not
//! inside its file on character boundaries. Run: `cargo +nightly fuzz run check`.

#![no_main]

use archc::load::{load, MemoryReader};
use archc::plan::catalogue::Catalogue;
use libfuzzer_sys::fuzz_target;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

fn catalogue() -> &'static Catalogue {
    static CATALOGUE: OnceLock<Catalogue> = OnceLock::new();
    CATALOGUE.get_or_init(Catalogue::builtin)
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    // Imports resolve against a small library (found, missing, and a cycle back to the input).
    let root = Path::new("input.arch");
    let reader = MemoryReader {
        files: vec![
            (root.to_path_buf(), text.to_string()),
            (
                PathBuf::from("lib.arch"),
                "service lib_svc { replicas = 2 }\n".to_string(),
            ),
            (
                PathBuf::from("dir/x.arch"),
                "import \"../input.arch\"\nqueue q { }\n".to_string(),
            ),
        ],
    };
    let mut loaded = load(root, text.to_string(), &reader);
    archc::cli::analyse(&mut loaded, catalogue());

    for d in &loaded.diagnostics {
        for span in std::iter::once(d.span).chain(d.labels.iter().map(|l| l.span)) {
            assert!(
                (span.file.0 as usize) < loaded.sources.len(),
                "{}: span in no file",
                d.code
            );
            let file = loaded.sources.file(span.file);
            let (start, end) = (span.start as usize, span.end as usize);
            assert!(
                start <= end && end <= file.text.len(),
                "{}: span {start}..{end} outside the text",
                d.code
            );
            assert!(
                file.text.is_char_boundary(start) && file.text.is_char_boundary(end),
                "{}: span {start}..{end} inside a character",
                d.code
            );
            let _ = file.line_col(start);
        }
    }
});
