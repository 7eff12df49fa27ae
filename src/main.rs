//! The `archc` binary: all behaviour lives in the library's `cli` module.

// The pipeline allocates many small strings and vectors (AST, IR, plan rows); mimalloc
// allocates and frees them in a fraction of the time glibc's malloc takes (docs/benchmarks.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    archc::cli::run()
}
