//! Rendering the graph for people: Mermaid (for Markdown) and Graphviz DOT. Endpoints are
//! folded into their service so the picture shows components; the edge label names the
//! endpoint and what it touches.

use super::{ArchGraph, Node, Relation};
use crate::model::Kind;
use std::collections::BTreeSet;
use std::fmt::Write;

struct FoldedEdge {
    from: String,
    to: String,
    text: String,
    dashed: bool,
}

fn folded(g: &ArchGraph) -> (Vec<(String, Kind)>, Vec<FoldedEdge>) {
    let mut nodes = Vec::new();
    for i in g.graph.node_indices() {
        if let Node::Component { kind, name } = &g.graph[i] {
            nodes.push((name.clone(), *kind));
        }
    }
    let mut seen = BTreeSet::new();
    let mut edges = Vec::new();
    for e in g.graph.edge_indices() {
        let edge = &g.graph[e];
        if edge.relation == Relation::Has {
            continue;
        }
        let Some((a, b)) = g.graph.edge_endpoints(e) else {
            continue;
        };
        let (from, to) = (&g.graph[a], &g.graph[b]);
        let mut text = edge.relation.word().to_string();
        if let Node::Endpoint { endpoint, .. } = from {
            text = format!("{endpoint} {text}");
        }
        if let Node::Endpoint { endpoint, .. } = to {
            text.push(' ');
            text.push_str(endpoint);
        }
        if !edge.label.is_empty() {
            text.push(' ');
            text.push_str(&edge.label);
        }
        let key = (
            from.component().to_string(),
            to.component().to_string(),
            text.clone(),
        );
        if seen.insert(key) {
            edges.push(FoldedEdge {
                from: from.component().to_string(),
                to: to.component().to_string(),
                text,
                dashed: matches!(
                    edge.relation,
                    Relation::Publishes | Relation::Consumes | Relation::DeadLetter
                ),
            });
        }
    }
    (nodes, edges)
}

fn escape(text: &str) -> String {
    text.replace('"', "'")
}

/// Mermaid `flowchart LR`.
pub fn to_mermaid(g: &ArchGraph) -> String {
    let (nodes, edges) = folded(g);
    let mut out = String::from("flowchart LR\n");
    for (name, kind) in &nodes {
        let label = format!("{name}<br/><i>{kind}</i>");
        let shape = match kind {
            Kind::Database => format!("[(\"{label}\")]"),
            Kind::Queue => format!("[/\"{label}\"/]"),
            Kind::Cache => format!("[[\"{label}\"]]"),
            Kind::Gateway | Kind::Cdn => format!("{{{{\"{label}\"}}}}"),
            Kind::Region => format!("((\"{label}\"))"),
            _ => format!("[\"{label}\"]"),
        };
        let _ = writeln!(out, "  {name}{shape}");
    }
    for e in &edges {
        let arrow = if e.dashed { "-.->" } else { "-->" };
        let _ = writeln!(
            out,
            "  {} {arrow}|\"{}\"| {}",
            e.from,
            escape(&e.text),
            e.to
        );
    }
    out
}

/// Graphviz DOT.
pub fn to_dot(g: &ArchGraph) -> String {
    let (nodes, edges) = folded(g);
    let mut out =
        String::from("digraph architecture {\n  rankdir=LR;\n  node [fontname=\"Helvetica\"];\n");
    for (name, kind) in &nodes {
        let shape = match kind {
            Kind::Database => "cylinder",
            Kind::Queue => "parallelogram",
            Kind::Cache => "box3d",
            Kind::Gateway | Kind::Cdn => "hexagon",
            Kind::Region => "ellipse",
            _ => "box",
        };
        let _ = writeln!(
            out,
            "  \"{name}\" [shape={shape}, label=\"{name}\\n({kind})\"];"
        );
    }
    for e in &edges {
        let style = if e.dashed { ", style=dashed" } else { "" };
        let _ = writeln!(
            out,
            "  \"{}\" -> \"{}\" [label=\"{}\"{style}];",
            e.from,
            e.to,
            escape(&e.text)
        );
    }
    out.push_str("}\n");
    out
}
