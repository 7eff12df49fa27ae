//! `archc generate`: a checked [`Program`] → the files of a Cargo workspace (one crate per
//! service and gateway, the runtime library, README and docs).
//!
//! Pure: [`generate`] returns the files and their owners; [`update::plan`] decides what a
//! run does to an existing output directory. The CLI reads and writes the disk.
//! Every Rust or text file comes from a template in `templates/`; every JSON and TOML file
//! is parsed back before it is returned, so a template cannot emit invalid syntax.

pub mod caveats;
pub mod infra;
pub mod manifest;
pub mod spec;
pub mod templates;
pub mod update;

use crate::model::Program;
use crate::plan::catalogue::Catalogue;
use manifest::Owner;
use minijinja::Value;
use serde::Serialize;
use std::collections::BTreeMap;
use templates::Templates;

/// The archc version written into generated files and the manifest.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// One generated file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GeneratedFile {
    /// Path relative to the output directory, `/`-separated.
    pub path: String,
    /// Contents.
    pub contents: Vec<u8>,
    /// Who owns it after the first run.
    pub owner: Owner,
}

/// The parts `--only` selects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Part {
    /// The Cargo workspace: runtime, services, gateways.
    Services,
    /// Infrastructure configs under `infra/`.
    Infra,
    /// README and `docs/`.
    Docs,
}

/// The part a path belongs to.
pub fn part_of(path: &str) -> Part {
    if path.starts_with("infra/") {
        Part::Infra
    } else if path == "README.md" || path.starts_with("docs/") {
        Part::Docs
    } else {
        Part::Services
    }
}

/// What a run needs besides the program.
pub struct Options<'a> {
    /// The `.arch` file's name, written into headers and the manifest.
    pub source: String,
    /// Template overrides (relative path → text).
    pub template_overrides: &'a BTreeMap<String, String>,
    /// The price catalogue (instance sizes for shedding, the plan summary).
    pub catalogue: &'a Catalogue,
}

/// Generates every file of the output. Errors are template or serialisation failures
/// (a broken `--templates` override), with the template named.
pub fn generate(program: &Program, options: &Options) -> Result<Vec<GeneratedFile>, String> {
    let templates = Templates::new(options.template_overrides)?;
    let mut out = Output::default();
    let common = CommonContext::new(program, options);

    for (path, text) in templates::runtime_files() {
        out.add(format!("runtime/{path}"), text.to_string(), Owner::Archc);
    }
    for service in &program.services {
        let spec = spec::service_spec(program, service, options.catalogue);
        let ctx = context::service(&common, service, &spec);
        let dir = format!("services/{}", service.name.value);
        out.json(format!("{dir}/src/generated/spec.json"), &spec)?;
        out.toml(
            format!("{dir}/Cargo.toml"),
            templates.render("service/Cargo.toml.j2", ctx.clone())?,
        )?;
        for (file, template, owner) in [
            ("src/main.rs", "service/main.rs.j2", Owner::Archc),
            ("src/lib.rs", "service/lib.rs.j2", Owner::Archc),
            (
                "src/generated/mod.rs",
                "service/generated.rs.j2",
                Owner::Archc,
            ),
            ("src/handlers.rs", "service/handlers.rs.j2", Owner::User),
            ("tests/generated.rs", "service/tests.rs.j2", Owner::Archc),
        ] {
            out.add(
                format!("{dir}/{file}"),
                templates.render(template, ctx.clone())?,
                owner,
            );
        }
    }
    for gateway in &program.gateways {
        let spec = spec::gateway_spec(program, gateway);
        let ctx = context::gateway(&common, gateway, &spec);
        let dir = format!("gateways/{}", gateway.name.value);
        out.json(format!("{dir}/src/generated/spec.json"), &spec)?;
        out.toml(
            format!("{dir}/Cargo.toml"),
            templates.render("gateway/Cargo.toml.j2", ctx.clone())?,
        )?;
        for (file, template) in [
            ("src/main.rs", "gateway/main.rs.j2"),
            ("tests/generated.rs", "gateway/tests.rs.j2"),
        ] {
            out.add(
                format!("{dir}/{file}"),
                templates.render(template, ctx.clone())?,
                Owner::Archc,
            );
        }
    }
    for f in infra::files(program, options.catalogue, &templates, &common)? {
        out.add(f.path, f.text, Owner::Archc);
    }
    let ctx = context::workspace(&common, program, options.catalogue);
    out.toml(
        "Cargo.toml".into(),
        templates.render("workspace/Cargo.toml.j2", ctx.clone())?,
    )?;
    for (file, template) in [
        (".gitignore", "workspace/gitignore.j2"),
        ("README.md", "workspace/README.md.j2"),
        ("docs/architecture.md", "workspace/architecture.md.j2"),
        ("docs/capacity.md", "workspace/capacity.md.j2"),
    ] {
        out.add(
            file.into(),
            templates.render(template, ctx.clone())?,
            Owner::Archc,
        );
    }
    out.files.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(out.files)
}

mod context;

/// Facts every template sees.
#[derive(Debug, Clone, Serialize)]
pub struct CommonContext {
    /// archc's version.
    pub version: String,
    /// The `.arch` file name.
    pub source: String,
    /// The system's name (or the source file's stem).
    pub system: String,
}

impl CommonContext {
    fn new(program: &Program, options: &Options) -> CommonContext {
        let system = program
            .system
            .as_ref()
            .map(|s| s.name.value.clone())
            .unwrap_or_else(|| {
                options
                    .source
                    .trim_end_matches(".arch")
                    .rsplit('/')
                    .next()
                    .unwrap_or("system")
                    .to_string()
            });
        CommonContext {
            version: VERSION.to_string(),
            source: options.source.clone(),
            system,
        }
    }
}

#[derive(Default)]
struct Output {
    files: Vec<GeneratedFile>,
}

impl Output {
    fn add(&mut self, path: String, text: String, owner: Owner) {
        self.files.push(GeneratedFile {
            path,
            contents: text.into_bytes(),
            owner,
        });
    }

    fn json(&mut self, path: String, value: &impl Serialize) -> Result<(), String> {
        let mut text = serde_json::to_string_pretty(value).map_err(|e| format!("{path}: {e}"))?;
        text.push('\n');
        self.add(path, text, Owner::Archc);
        Ok(())
    }

    /// A TOML file from a template, parsed back first.
    fn toml(&mut self, path: String, text: String) -> Result<(), String> {
        if let Err(e) = text.parse::<toml::Table>() {
            return Err(format!(
                "{path}: the template produced invalid TOML: {}",
                e.message()
            ));
        }
        self.add(path, text, Owner::Archc);
        Ok(())
    }
}

/// Wraps a serialisable context for minijinja.
fn value(ctx: &impl Serialize) -> Value {
    Value::from_serialize(ctx)
}
