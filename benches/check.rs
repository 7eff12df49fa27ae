//! `cargo bench --bench check`: the in-process cost of `archc check` on synthetic valid
//! programs of about 1,000 and 10,000 components (written by `src/bin/archc-synth.rs`).
//!
//! Three measurements per size: `load` (parse + lower + resolve), `analyse` (graph + every
//! rule, on an already loaded program) and `check` (both, what `archc check` does apart
//! from process start, file reading and rendering). `scripts/bench.sh` measures the whole
//! process end to end; docs/benchmarks.md records the figures.

use archc::cli::analyse;
use archc::load::{load, Loaded, MemoryReader};
use archc::plan::catalogue::Catalogue;
use criterion::{criterion_group, criterion_main, BatchSize, BenchmarkId, Criterion, Throughput};
use std::path::Path;
use std::time::Duration;

#[path = "../src/bin/archc-synth.rs"]
mod synth;

const SIZES: [usize; 2] = [1_000, 10_000];

fn load_text(text: String) -> Loaded {
    load(Path::new("synth.arch"), text, &MemoryReader::default())
}

/// Loads and analyses once, and reports any diagnostic: the figures only mean something
/// for a program that checks clean.
fn sanity_check(n: usize, text: &str, catalogue: &Catalogue) {
    let mut loaded = load_text(text.to_owned());
    analyse(&mut loaded, catalogue);
    if !loaded.diagnostics.is_empty() {
        let mut codes: Vec<&str> = loaded.diagnostics.iter().map(|d| d.code).collect();
        codes.sort_unstable();
        codes.dedup();
        eprintln!(
            "warning: the synthetic {n}-component program has {} diagnostics ({}); the benchmark is not over a clean program",
            loaded.diagnostics.len(),
            codes.join(", ")
        );
    }
}

fn bench_check(c: &mut Criterion) {
    let catalogue = Catalogue::builtin();
    let mut group = c.benchmark_group("check");
    group.sample_size(10);
    group.warm_up_time(Duration::from_secs(1));
    group.measurement_time(Duration::from_secs(5));
    for n in SIZES {
        let text = synth::generate(n);
        eprintln!(
            "synthetic program: {} components, {} bytes",
            synth::component_count(n),
            text.len()
        );
        sanity_check(n, &text, &catalogue);
        group.throughput(Throughput::Bytes(text.len() as u64));

        group.bench_with_input(BenchmarkId::new("load", n), &text, |b, text| {
            b.iter_batched(|| text.clone(), load_text, BatchSize::LargeInput);
        });
        group.bench_with_input(BenchmarkId::new("analyse", n), &text, |b, text| {
            b.iter_batched(
                || load_text(text.clone()),
                |mut loaded| {
                    analyse(&mut loaded, &catalogue);
                    loaded
                },
                BatchSize::LargeInput,
            );
        });
        group.bench_with_input(BenchmarkId::new("check", n), &text, |b, text| {
            b.iter_batched(
                || text.clone(),
                |text| {
                    let mut loaded = load_text(text);
                    analyse(&mut loaded, &catalogue);
                    loaded
                },
                BatchSize::LargeInput,
            );
        });
    }
    group.finish();
}

criterion_group!(benches, bench_check);
criterion_main!(benches);
