//! The architecture as a petgraph graph: components and endpoints as nodes; routes, calls,
//! reads, writes, publishes, consumes and the other relations as labelled edges.
//!
//! Invariant: built from the IR only; no I/O. `check` uses it for cycles and reachability,
//! `cli graph` renders it as Mermaid or DOT.

mod render;

pub use render::{to_dot, to_mermaid};

use crate::model::{Kind, Program, Target};
use petgraph::graph::{DiGraph, NodeIndex};
use std::collections::HashMap;

/// A node: a top-level component, or an endpoint of a service.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Node {
    Component { kind: Kind, name: String },
    Endpoint { service: String, endpoint: String },
}

impl Node {
    /// `users` or `users.get_user`.
    pub fn id(&self) -> String {
        match self {
            Node::Component { name, .. } => name.clone(),
            Node::Endpoint { service, endpoint } => format!("{service}.{endpoint}"),
        }
    }
    /// The component this node belongs to.
    pub fn component(&self) -> &str {
        match self {
            Node::Component { name, .. } => name,
            Node::Endpoint { service, .. } => service,
        }
    }
}

/// What an edge means.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Relation {
    /// Gateway route → service or CDN.
    Route,
    /// Synchronous call, endpoint → endpoint.
    Calls,
    Reads,
    Writes,
    Publishes,
    /// Queue → consuming service.
    Consumes,
    /// Cache → the database it fronts.
    Source,
    /// CDN → its origin.
    Origin,
    /// Job → endpoint it runs.
    Runs,
    /// Queue → its dead-letter queue.
    DeadLetter,
    /// Service → one of its endpoints.
    Has,
}

impl Relation {
    /// The word shown on the edge.
    pub fn word(self) -> &'static str {
        match self {
            Relation::Route => "routes",
            Relation::Calls => "calls",
            Relation::Reads => "reads",
            Relation::Writes => "writes",
            Relation::Publishes => "publishes",
            Relation::Consumes => "consumed by",
            Relation::Source => "caches",
            Relation::Origin => "origin",
            Relation::Runs => "runs",
            Relation::DeadLetter => "dead letter",
            Relation::Has => "has",
        }
    }
}

/// A labelled edge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Edge {
    pub relation: Relation,
    /// Extra text: the route pattern, the endpoint that calls.
    pub label: String,
}

/// The graph and an index from node ids to nodes.
#[derive(Debug, Default)]
pub struct ArchGraph {
    pub graph: DiGraph<Node, Edge>,
    index: HashMap<String, NodeIndex>,
}

impl ArchGraph {
    /// The node with this id (`users` or `users.get_user`).
    pub fn node(&self, id: &str) -> Option<NodeIndex> {
        self.index.get(id).copied()
    }

    fn add(&mut self, node: Node) -> NodeIndex {
        let id = node.id();
        if let Some(&i) = self.index.get(&id) {
            return i;
        }
        let i = self.graph.add_node(node);
        self.index.insert(id, i);
        i
    }

    fn link(&mut self, from: &str, to: &str, relation: Relation, label: impl Into<String>) {
        if let (Some(a), Some(b)) = (self.node(from), self.node(to)) {
            self.graph.add_edge(
                a,
                b,
                Edge {
                    relation,
                    label: label.into(),
                },
            );
        }
    }

    /// The synchronous call graph over endpoints only.
    pub fn call_graph(&self) -> DiGraph<String, ()> {
        let mut g = DiGraph::new();
        let mut map = HashMap::new();
        for i in self.graph.node_indices() {
            if let Node::Endpoint { .. } = self.graph[i] {
                map.insert(i, g.add_node(self.graph[i].id()));
            }
        }
        for e in self.graph.edge_indices() {
            if self.graph[e].relation != Relation::Calls {
                continue;
            }
            if let Some((a, b)) = self.graph.edge_endpoints(e) {
                if let (Some(&x), Some(&y)) = (map.get(&a), map.get(&b)) {
                    g.add_edge(x, y, ());
                }
            }
        }
        g
    }
}

/// Builds the graph of a program. References that do not resolve are skipped (check has
/// already reported them).
pub fn build(program: &Program) -> ArchGraph {
    let mut g = ArchGraph::default();
    for (kind, name) in program.components() {
        if kind != Kind::System && kind != Kind::Limit {
            g.add(Node::Component {
                kind,
                name: name.value.clone(),
            });
        }
    }
    for s in &program.services {
        for e in &s.endpoints {
            g.add(Node::Endpoint {
                service: s.name.value.clone(),
                endpoint: e.name.value.clone(),
            });
            let id = format!("{}.{}", s.name.value, e.name.value);
            g.link(&s.name.value, &id, Relation::Has, "");
        }
    }
    for gw in &program.gateways {
        for r in &gw.routes {
            if let Some(to) = &r.to {
                g.link(
                    &gw.name.value,
                    &to.name,
                    Relation::Route,
                    r.pattern.value.clone(),
                );
            }
        }
    }
    for s in &program.services {
        for e in &s.endpoints {
            let id = format!("{}.{}", s.name.value, e.name.value);
            for c in e.calls.iter().chain(&s.calls) {
                g.link(&id, &c.dotted(), Relation::Calls, "");
            }
            for t in &e.reads {
                g.link(&id, target_id(t), Relation::Reads, target_label(t));
            }
            for t in &e.writes {
                g.link(&id, target_id(t), Relation::Writes, target_label(t));
            }
            for q in &e.publishes {
                g.link(&id, &q.name, Relation::Publishes, "");
            }
        }
        for c in &s.consumers {
            if let Some(q) = &c.from {
                g.link(
                    &q.name,
                    &s.name.value,
                    Relation::Consumes,
                    c.name.value.clone(),
                );
            }
        }
    }
    for c in &program.caches {
        if let Some(src) = &c.source {
            g.link(
                &c.name.value,
                src.component(),
                Relation::Source,
                target_label(src),
            );
        }
    }
    for c in &program.cdns {
        if let Some(o) = &c.origin {
            g.link(&c.name.value, &o.name, Relation::Origin, "");
        }
    }
    for q in &program.queues {
        if let Some(d) = &q.dead_letter {
            g.link(&q.name.value, &d.name, Relation::DeadLetter, "");
        }
    }
    for j in &program.jobs {
        if let Some(r) = &j.runs {
            g.link(&j.name.value, &r.dotted(), Relation::Runs, "");
        }
        if let Some(q) = &j.publishes {
            g.link(&j.name.value, &q.name, Relation::Publishes, "");
        }
    }
    g
}

fn target_id(t: &Target) -> &str {
    t.component()
}

fn target_label(t: &Target) -> String {
    match t {
        Target::Component(_) => String::new(),
        Target::Member(p) => p.member().unwrap_or_default().to_string(),
    }
}
