//! The Markdown report: the headline, every table of the terminal report (the horizon in
//! full), the assumptions, and a section per component giving each figure's formula and
//! inputs, so a reader can redo the arithmetic.

use super::{headline, horizon_summary, inputs_line, sections, title, traced, Section};
use crate::model::Program;
use crate::plan::report::Plan;

/// The plan as a Markdown document.
pub fn markdown(plan: &Plan, program: &Program) -> String {
    let mut out = format!("# {}\n\n", title(program));
    for (label, value) in headline(plan) {
        out.push_str(&format!("- **{label}:** {}\n", cell(&value)));
    }
    for section in sections(plan, false) {
        out.push_str(&format!("\n## {}\n\n", section.title));
        if section.title == "Horizon" {
            if let Some(summary) = horizon_summary(plan) {
                out.push_str(&format!("{summary}.\n\n"));
            }
        }
        out.push_str(&pipe_table(&section));
    }
    if !plan.assumptions.is_empty() {
        out.push_str("\n## Assumptions\n\n");
        for a in &plan.assumptions {
            out.push_str(&format!("- {}\n", cell(a)));
        }
    }
    let traces = traced(plan);
    if !traces.is_empty() {
        out.push_str("\n## How each figure was obtained\n");
        for (heading, traces) in traces {
            out.push_str(&format!("\n### {}\n\n", cell(&heading)));
            out.push_str("| figure | result | formula | inputs |\n|---|--:|---|---|\n");
            for t in traces {
                out.push_str(&format!(
                    "| {} | {} | {} | {} |\n",
                    cell(&t.figure),
                    cell(&t.result),
                    code(&t.formula),
                    cell(&inputs_line(t))
                ));
            }
        }
    }
    out
}

/// Text safe inside a table cell: pipes escaped, line breaks folded, Markdown punctuation
/// that would start emphasis or HTML escaped.
fn cell(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '|' | '*' | '_' | '`' | '<' | '>' | '[' | ']' | '\\' => {
                out.push('\\');
                out.push(c);
            }
            '\n' | '\r' => out.push(' '),
            _ => out.push(c),
        }
    }
    out
}

/// A formula as inline code (pipes still escaped, as GitHub tables require).
fn code(text: &str) -> String {
    if text.contains('`') {
        return cell(text);
    }
    format!("`{}`", text.replace('|', "\\|").replace('\n', " "))
}

fn pipe_table(section: &Section) -> String {
    let mut out = format!("| {} |\n|", section.headers.join(" | "));
    for numeric in &section.numeric {
        out.push_str(if *numeric { "--:|" } else { "---|" });
    }
    out.push('\n');
    for row in &section.rows {
        let cells: Vec<String> = row.iter().map(|c| cell(c)).collect();
        out.push_str(&format!("| {} |\n", cells.join(" | ")));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::render::sample;

    #[test]
    fn report_has_tables_and_every_trace() {
        let text = markdown(&sample::plan(), &Program::default());
        assert!(
            text.starts_with("# Plan\n\n- **Monthly cost:** $12,345/mo\n"),
            "{text}"
        );
        assert!(text.contains("\n## Services\n\n| service | load |"));
        assert!(text.contains("|---|--:|"));
        assert!(
            text.contains("\n## Horizon\n\nOver 18 months: peak 12k rps →"),
            "{text}"
        );
        assert!(text.contains("| 18 |"), "every month is listed");
        assert!(text.contains("### service catalog"));
        assert!(text.contains("| instances | 6 | `n = max(min, ⌈λ·S / (c·u)⌉)` | λ = 10.8k rps"));
        assert!(text.contains("### route edge GET /api/products/:id"));
        assert!(text.contains("- target utilisation 70%"));
    }

    #[test]
    fn cells_are_escaped() {
        assert_eq!(cell("a|b_c"), "a\\|b\\_c");
        assert_eq!(code("x | y"), "`x \\| y`");
    }
}
