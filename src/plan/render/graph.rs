//! The architecture graph as inline SVG, since Mermaid would need a script from the network:
//! components in layers (gateways and CDNs, services and jobs, caches, databases, queues),
//! ordered within a layer by the mean position of their neighbours, with curved edges
//! (dashed when asynchronous) and each edge's meaning as a tooltip.

use super::svg::{cut, escape, svg_open};
use crate::graph::{ArchGraph, Node, Relation};
use crate::model::Kind;
use std::collections::{BTreeSet, HashMap};
use std::fmt::Write;

/// The fill and stroke of a component's box, by kind.
fn kind_colors(kind: Kind) -> (&'static str, &'static str) {
    match kind {
        Kind::Gateway | Kind::Cdn => ("#fdd0a2", "#e6550d"),
        Kind::Service | Kind::Job => ("#c6dbef", "#3182bd"),
        Kind::Cache => ("#c7e9c0", "#31a354"),
        Kind::Database => ("#dadaeb", "#756bb1"),
        _ => ("#fbd3e9", "#c51b7d"),
    }
}

fn layer(kind: Kind) -> Option<usize> {
    match kind {
        Kind::Gateway | Kind::Cdn => Some(0),
        Kind::Service | Kind::Job => Some(1),
        Kind::Cache => Some(2),
        Kind::Database => Some(3),
        Kind::Queue => Some(4),
        _ => None,
    }
}

/// The architecture as layers (gateways and CDNs, services and jobs, caches, databases,
/// queues) with edges between components; `captions` adds a line under a component's name.
pub fn graph(g: &ArchGraph, captions: &HashMap<String, String>, width: f64) -> String {
    let mut rows: Vec<Vec<(String, Kind)>> = vec![Vec::new(); 5];
    for i in g.graph.node_indices() {
        if let Node::Component { kind, name } = &g.graph[i] {
            if let Some(l) = layer(*kind) {
                rows[l].push((name.clone(), *kind));
            }
        }
    }
    rows.retain(|r| !r.is_empty());
    let mut edges = BTreeSet::new();
    for e in g.graph.edge_indices() {
        let Some((a, b)) = g.graph.edge_endpoints(e) else {
            continue;
        };
        let (from, to) = (g.graph[a].component(), g.graph[b].component());
        let rel = g.graph[e].relation;
        if rel != Relation::Has && from != to {
            edges.insert((from.to_string(), to.to_string(), rel.word()));
        }
    }
    let (node_h, gap, top) = (48.0, 84.0, 48.0);
    let mut pos: HashMap<String, (f64, f64, f64)> = HashMap::new();
    let place = |rows: &[Vec<(String, Kind)>], pos: &mut HashMap<String, (f64, f64, f64)>| {
        for (r, row) in rows.iter().enumerate() {
            let slot = width / row.len() as f64;
            let w = (slot - 16.0).min(190.0);
            for (i, (name, _)) in row.iter().enumerate() {
                let cx = slot * (i as f64 + 0.5);
                pos.insert(name.clone(), (cx, top + r as f64 * (node_h + gap), w));
            }
        }
    };
    place(&rows, &mut pos);
    // Barycentre ordering: each row sorted by the mean x of its neighbours, twice down.
    for _ in 0..2 {
        for r in 1..rows.len() {
            let mut keyed: Vec<(f64, (String, Kind))> = rows[r]
                .iter()
                .map(|n| {
                    let xs: Vec<f64> = edges
                        .iter()
                        .filter_map(|(a, b, _)| match (a == &n.0, b == &n.0) {
                            (true, _) => pos.get(b).map(|p| p.0),
                            (_, true) => pos.get(a).map(|p| p.0),
                            _ => None,
                        })
                        .collect();
                    let own = pos.get(&n.0).map_or(0.0, |p| p.0);
                    let key = if xs.is_empty() {
                        own
                    } else {
                        xs.iter().sum::<f64>() / xs.len() as f64
                    };
                    (key, n.clone())
                })
                .collect();
            keyed.sort_by(|a, b| a.0.total_cmp(&b.0));
            rows[r] = keyed.into_iter().map(|k| k.1).collect();
            place(&rows, &mut pos);
        }
    }
    let height = top + 16.0 + rows.len() as f64 * (node_h + gap) - gap;
    let mut s = svg_open(width, height);
    s.push_str(concat!(
        r##"<defs><marker id="archc-arrow" viewBox="0 0 10 10" refX="9" refY="5""##,
        r##" markerWidth="7" markerHeight="7" orient="auto-start-reverse">"##,
        r##"<path d="M0,0L10,5L0,10z" fill="#555"/></marker></defs>"##,
    ));
    for (a, b, word) in &edges {
        let (Some(&(ax, ay, _)), Some(&(bx, by, _))) = (pos.get(a), pos.get(b)) else {
            continue;
        };
        let path = if by > ay {
            let (y0, y1) = (ay + node_h, by);
            let d = (y1 - y0) / 2.0;
            format!(
                "M{ax:.1},{y0:.1} C{ax:.1},{:.1} {bx:.1},{:.1} {bx:.1},{y1:.1}",
                y0 + d,
                y1 - d
            )
        } else if by < ay {
            let (y0, y1) = (ay, by + node_h);
            let d = (y0 - y1) / 2.0;
            format!(
                "M{ax:.1},{y0:.1} C{ax:.1},{:.1} {bx:.1},{:.1} {bx:.1},{y1:.1}",
                y0 - d,
                y1 + d
            )
        } else {
            format!(
                "M{ax:.1},{ay:.1} C{ax:.1},{:.1} {bx:.1},{:.1} {bx:.1},{ay:.1}",
                ay - 40.0,
                ay - 40.0
            )
        };
        let dashed = matches!(*word, "publishes" | "consumed by" | "dead letter");
        let _ = write!(
            s,
            concat!(
                r#"<path d="{path}" fill="none" stroke="{}" stroke-width="1.4"{}"#,
                r#" marker-end="url(#archc-arrow)"><title>{} {} {}</title></path>"#,
            ),
            if dashed { "#999" } else { "#555" },
            if dashed {
                r#" stroke-dasharray="5 4""#
            } else {
                ""
            },
            escape(a),
            escape(word),
            escape(b),
            path = path,
        );
    }
    for row in &rows {
        for (name, kind) in row {
            let (cx, y, w) = pos[name];
            let (fill, stroke) = kind_colors(*kind);
            let chars = ((w - 12.0) / 7.2) as usize;
            let sub = match captions.get(name) {
                Some(c) => format!("{kind} · {c}"),
                None => kind.to_string(),
            };
            let _ = write!(
                s,
                concat!(
                    r#"<g><title>{} ({kind})</title><rect x="{:.1}" y="{y:.1}" width="{w:.1}""#,
                    r#" height="{node_h}" rx="8" fill="{fill}" stroke="{stroke}""#,
                    r#" stroke-width="1.5"/><text x="{cx:.1}" y="{:.1}" text-anchor="middle""#,
                    r#" class="node">{}</text><text x="{cx:.1}" y="{:.1}" text-anchor="middle""#,
                    r#" class="tick">{}</text></g>"#,
                ),
                escape(name),
                cx - w / 2.0,
                y + 20.0,
                escape(&cut(name, chars)),
                y + 37.0,
                escape(&cut(&sub, chars + 4)),
                kind = kind,
                y = y,
                w = w,
                node_h = node_h,
                fill = fill,
                stroke = stroke,
                cx = cx,
            );
        }
    }
    s.push_str("</svg>");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn components_are_drawn_in_layers_with_edges() {
        let text = r#"gateway edge {
  route "GET /x" { to = api }
}
service api {
  endpoint get { route = "GET /x"  work = 1ms  reads = [db] }
}
database db { engine = postgres }
"#;
        let loaded =
            crate::load::load(std::path::Path::new("g.arch"), text.to_string(), &NoImports);
        let g = crate::graph::build(&loaded.program);
        let mut captions = HashMap::new();
        captions.insert("api".to_string(), "3 × 4 vCPU".to_string());
        let svg = graph(&g, &captions, 1200.0);
        assert_eq!(svg.matches("<rect").count(), 3, "{svg}");
        assert!(svg.contains("service · 3 × 4 vCPU"));
        assert!(svg.contains("<title>edge routes api</title>"), "{svg}");
        assert!(svg.contains("<title>api reads db</title>"), "{svg}");
        let y = |name: &str| {
            let at = svg.find(&format!("<title>{name} (")).unwrap();
            let rest = &svg[at..];
            let y0 = rest.find(" y=\"").unwrap() + 4;
            rest[y0..y0 + rest[y0..].find('"').unwrap()]
                .parse::<f64>()
                .unwrap()
        };
        assert!(
            y("edge") < y("api") && y("api") < y("db"),
            "layers top to bottom"
        );
    }

    struct NoImports;

    impl crate::load::SourceReader for NoImports {
        fn read(&self, _: &std::path::Path) -> std::io::Result<String> {
            Err(std::io::ErrorKind::NotFound.into())
        }
        fn arch_files_in(&self, _: &std::path::Path) -> Option<Vec<std::path::PathBuf>> {
            None
        }
    }
}
