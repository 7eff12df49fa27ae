//! Name resolution: every reference collected while lowering must name a component of an
//! allowed kind (A004 undefined, A009 wrong kind); dotted paths must name a table or an
//! endpoint of that component. Also fills defaults that depend on other components.

use super::reader::{kinds_text, Member, PendingRef, Sink};
use super::value::{Ref, Target};
use super::{Kind, Program};
use crate::diagnostic::{closest, Diagnostic};

pub(super) fn resolve(program: &mut Program, sink: &Sink) {
    let pending: Vec<PendingRef> = sink.refs.borrow_mut().drain(..).collect();
    for p in &pending {
        check(program, sink, p);
    }
    if let Some(system) = program.system.as_mut() {
        if system.regions.is_empty() {
            system.regions = program
                .regions
                .iter()
                .map(|r| Ref {
                    name: r.name.value.clone(),
                    span: r.name.span,
                })
                .collect();
        }
    }
}

fn check(program: &Program, sink: &Sink, p: &PendingRef) {
    match &p.target {
        Target::Component(r) => {
            let Some(kind) = program.kind_of(&r.name) else {
                undefined(program, sink, &r.name, r.span, p.kinds, &p.attribute);
                return;
            };
            if !p.kinds.contains(&kind) {
                let decl = program
                    .components()
                    .into_iter()
                    .find(|(_, n)| n.value == r.name)
                    .map(|(_, n)| n.span);
                let mut d = Diagnostic::error(
                    "A009",
                    r.span,
                    format!(
                        "`{}` is a {kind}, but `{}` needs a {}",
                        r.name,
                        p.attribute,
                        kinds_text(p.kinds)
                    ),
                )
                .with_primary_label(format!("a {kind}"))
                .with_help(format!("name a {} here", kinds_text(p.kinds)));
                if let Some(span) = decl {
                    d = d.with_label(span, format!("`{}` is declared as a {kind} here", r.name));
                }
                sink.push(d);
            }
        }
        Target::Member(path) => {
            let root = path.root();
            let Some(kind) = program.kind_of(root) else {
                let kinds: &[Kind] = if p.members.contains(&Member::Table) {
                    &[Kind::Database]
                } else {
                    &[Kind::Service]
                };
                let span = crate::source::Span {
                    end: path.span.start + root.len() as u32,
                    ..path.span
                };
                undefined(program, sink, root, span, kinds, &p.attribute);
                return;
            };
            let member = path.member().unwrap_or("");
            let (candidates, what): (Vec<&str>, &str) = match kind {
                Kind::Database if p.members.contains(&Member::Table) => (
                    program
                        .database(root)
                        .map(|d| d.tables.iter().map(|t| t.name.value.as_str()).collect())
                        .unwrap_or_default(),
                    "table",
                ),
                Kind::Service if p.members.contains(&Member::Endpoint) => (
                    program
                        .service(root)
                        .map(|s| s.endpoints.iter().map(|e| e.name.value.as_str()).collect())
                        .unwrap_or_default(),
                    "endpoint",
                ),
                _ => {
                    let want = if p.members.contains(&Member::Table) {
                        "database.table"
                    } else {
                        "service.endpoint"
                    };
                    sink.push(
                        Diagnostic::error(
                            "A009",
                            path.span,
                            format!("`{root}` is a {kind}, but `{}` needs `{want}`", p.attribute),
                        )
                        .with_primary_label(format!("a {kind}"))
                        .with_help(format!("write `{want}`")),
                    );
                    return;
                }
            };
            if !candidates.contains(&member) {
                let hint = closest(member, candidates.iter().copied());
                sink.push(
                    Diagnostic::error(
                        "A004",
                        path.span,
                        format!("{kind} `{root}` has no {what} `{member}`"),
                    )
                    .with_primary_label(format!("unknown {what}"))
                    .with_help(match hint {
                        Some(h) => format!("did you mean `{root}.{h}`?"),
                        None if candidates.is_empty() => {
                            format!("declare `{what} {member} {{ ... }}` in `{root}`")
                        }
                        None => format!("the {what}s of `{root}` are {}", candidates.join(", ")),
                    }),
                );
            }
        }
    }
}

fn undefined(
    program: &Program,
    sink: &Sink,
    name: &str,
    span: crate::source::Span,
    kinds: &[Kind],
    attribute: &str,
) {
    let all = program.components();
    let preferred = closest(
        name,
        all.iter()
            .filter(|(k, _)| kinds.contains(k))
            .map(|(_, n)| n.value.as_str()),
    );
    let any = closest(name, all.iter().map(|(_, n)| n.value.as_str()));
    let help = match preferred.or(any) {
        Some(c) => format!("did you mean `{c}`?"),
        None => format!(
            "declare `{} {name} {{ ... }}`, or name an existing one",
            kinds
                .first()
                .map(|k| k.to_string())
                .unwrap_or_else(|| "component".into())
        ),
    };
    sink.push(
        Diagnostic::error(
            "A004",
            span,
            format!("`{name}` is not declared (in `{attribute}`)"),
        )
        .with_primary_label(format!("no {} of this name", kinds_text(kinds)))
        .with_help(help),
    );
}
