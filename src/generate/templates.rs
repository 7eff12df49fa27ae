//! The template set: the templates embedded from `templates/` at build time, overridden
//! per relative path by a user's `--templates DIR`, rendered with minijinja.

use minijinja::{Environment, UndefinedBehavior, Value};
use std::collections::BTreeMap;

mod embedded {
    include!(concat!(env!("OUT_DIR"), "/embedded.rs"));
}

/// The runtime crate's files, `(relative path, contents)`, copied verbatim into each output.
pub fn runtime_files() -> &'static [(&'static str, &'static str)] {
    embedded::RUNTIME
}

/// The names of the built-in templates (`service/Cargo.toml.j2`, ...).
pub fn builtin_names() -> impl Iterator<Item = &'static str> {
    embedded::TEMPLATES.iter().map(|(name, _)| *name)
}

/// Rust keywords that cannot be plain identifiers.
const RUST_KEYWORDS: &[&str] = &[
    "as", "async", "await", "break", "const", "continue", "dyn", "else", "enum", "extern", "false",
    "fn", "for", "if", "impl", "in", "let", "loop", "match", "mod", "move", "mut", "pub", "ref",
    "return", "static", "struct", "trait", "true", "type", "unsafe", "use", "where", "while",
    "abstract", "become", "box", "do", "final", "gen", "macro", "override", "priv", "try",
    "typeof", "unsized", "virtual", "yield",
];

/// A `.arch` name as a Rust identifier (`type` → `r#type`).
pub fn rust_ident(name: &str) -> String {
    if RUST_KEYWORDS.contains(&name) {
        format!("r#{name}")
    } else {
        name.to_string()
    }
}

/// `order_events` → `OrderEvents`.
pub fn camel(name: &str) -> String {
    name.split(['_', '-'])
        .filter(|p| !p.is_empty())
        .map(|p| {
            let mut c = p.chars();
            match c.next() {
                Some(f) => f.to_ascii_uppercase().to_string() + c.as_str(),
                None => String::new(),
            }
        })
        .collect()
}

/// A templates environment: built-ins, with `overrides` (relative path → text) on top.
pub struct Templates {
    env: Environment<'static>,
}

impl Templates {
    /// The built-in templates with the user's overrides. An override whose name is not a
    /// built-in template is refused, so a typo cannot silently do nothing.
    pub fn new(overrides: &BTreeMap<String, String>) -> Result<Templates, String> {
        for name in overrides.keys() {
            if !builtin_names().any(|b| b == name) {
                let known: Vec<&str> = builtin_names().collect();
                return Err(format!(
                    "--templates: `{name}` is not one of archc's templates{}",
                    crate::diagnostic::closest(name, known.iter().copied())
                        .map(|c| format!(" (did you mean `{c}`?)"))
                        .unwrap_or_default()
                ));
            }
        }
        let mut env = Environment::new();
        env.set_trim_blocks(true);
        env.set_lstrip_blocks(true);
        env.set_keep_trailing_newline(true);
        env.set_undefined_behavior(UndefinedBehavior::Strict);
        // Rust, TOML, Markdown and configs: escaping is each template's own business.
        env.set_auto_escape_callback(|_| minijinja::AutoEscape::None);
        env.add_filter("rust_ident", |s: String| rust_ident(&s));
        env.add_filter("camel", |s: String| camel(&s));
        env.add_filter("upper", |s: String| s.to_uppercase());
        env.add_filter("quoted", |s: String| format!("{s:?}"));
        // A JSON scalar or list is also valid YAML: the safe way to put a value in a YAML file.
        env.add_filter("json", |v: Value| {
            serde_json::to_string(&v).unwrap_or_default()
        });
        for (name, text) in embedded::TEMPLATES {
            let text = overrides
                .get(*name)
                .cloned()
                .unwrap_or_else(|| (*text).to_string());
            env.add_template_owned(name.to_string(), text)
                .map_err(|e| format!("template `{name}`: {e}"))?;
        }
        Ok(Templates { env })
    }

    /// Renders one template.
    pub fn render(&self, name: &str, context: Value) -> Result<String, String> {
        let template = self
            .env
            .get_template(name)
            .map_err(|e| format!("template `{name}`: {e}"))?;
        template
            .render(context)
            .map_err(|e| format!("template `{name}`: {e:#}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keywords_become_raw_identifiers() {
        assert_eq!(rust_ident("type"), "r#type");
        assert_eq!(rust_ident("get_order"), "get_order");
        assert_eq!(camel("order_events"), "OrderEvents");
    }

    #[test]
    fn an_override_of_an_unknown_template_is_refused_with_a_suggestion() {
        let mut o = BTreeMap::new();
        o.insert("service/Cargo.toml".to_string(), String::new());
        let err = Templates::new(&o).err().unwrap_or_default();
        assert!(err.contains("service/Cargo.toml.j2"), "{err}");
    }
}
