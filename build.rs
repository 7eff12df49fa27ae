//! Embeds the generator's inputs in the archc binary: every template under `templates/` and
//! every file of the runtime crate that `archc generate` copies verbatim into its output.
//! The lists are built here, not by hand, so a new template or runtime module can never be
//! forgotten.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

fn files_under(root: &Path, dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    let mut entries: Vec<_> = entries.filter_map(Result::ok).map(|e| e.path()).collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            files_under(root, &path, out);
        } else if let Ok(rel) = path.strip_prefix(root) {
            out.push(rel.to_path_buf());
        }
    }
}

fn table(name: &str, root: &Path, files: &[PathBuf], out: &mut String) {
    out.push_str(&format!("pub static {name}: &[(&str, &str)] = &[\n"));
    for rel in files {
        let rel_text = rel.to_string_lossy().replace('\\', "/");
        let full = root.join(rel);
        out.push_str(&format!(
            "    ({rel_text:?}, include_str!({:?})),\n",
            full.to_string_lossy()
        ));
    }
    out.push_str("];\n");
}

fn main() {
    let manifest = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("set by cargo"));
    let out_dir = PathBuf::from(std::env::var("OUT_DIR").expect("set by cargo"));

    let templates_root = manifest.join("templates");
    let mut templates = Vec::new();
    files_under(&templates_root, &templates_root, &mut templates);
    templates.retain(|p| p.extension().is_some_and(|e| e == "j2"));

    let runtime_root = manifest.join("runtime");
    let mut runtime = vec![PathBuf::from("Cargo.toml"), PathBuf::from("README.md")];
    files_under(&runtime_root, &runtime_root.join("src"), &mut runtime);
    runtime.retain(|p| runtime_root.join(p).is_file());

    let mut text = String::new();
    table("TEMPLATES", &templates_root, &templates, &mut text);
    table("RUNTIME", &runtime_root, &runtime, &mut text);
    let mut file = fs::File::create(out_dir.join("embedded.rs")).expect("OUT_DIR is writable");
    file.write_all(text.as_bytes())
        .expect("OUT_DIR is writable");

    println!("cargo:rerun-if-changed=templates");
    println!("cargo:rerun-if-changed=runtime/src");
    println!("cargo:rerun-if-changed=runtime/Cargo.toml");
    println!("cargo:rerun-if-changed=runtime/README.md");
}
