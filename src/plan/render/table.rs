//! The terminal report: the headline first (cost, availability against the SLO, the
//! bottleneck), then one compact table per section. Every line fits in [`WIDTH`] columns
//! (counted in characters); `explain` appends each figure's formula and inputs.

use super::{headline, horizon_summary, inputs_line, sections, title, traced, Section};
use crate::model::Program;
use crate::plan::report::Plan;

/// The widest line the table output writes.
pub const WIDTH: usize = 100;

const GAP: &str = "  ";

/// The plan as a terminal report.
pub fn table(plan: &Plan, program: &Program, explain: bool) -> String {
    let mut out = String::new();
    let heading = title(program);
    out.push_str(&heading);
    out.push('\n');
    out.push_str(&"═".repeat(width(&heading)));
    out.push('\n');
    let lines = headline(plan);
    let label_width = lines.iter().map(|(l, _)| width(l)).max().unwrap_or(0);
    for (label, value) in &lines {
        let first = format!("{label:<label_width$}  ");
        push_wrapped(&mut out, &first, &" ".repeat(label_width + 2), value);
    }
    for section in sections(plan, true) {
        out.push('\n');
        out.push_str(section.title);
        out.push('\n');
        if section.title == "Horizon" {
            if let Some(summary) = horizon_summary(plan) {
                push_wrapped(&mut out, "", "", &summary);
            }
        }
        out.push_str(&render_table(&section));
    }
    if explain {
        out.push_str("\nHow each figure was obtained\n");
        for (heading, traces) in traced(plan) {
            out.push_str(&heading);
            out.push('\n');
            for t in traces {
                push_wrapped(
                    &mut out,
                    "  ",
                    "    ",
                    &format!("{} = {}", t.figure, t.result),
                );
                push_wrapped(&mut out, "    ", "      ", &t.formula);
                if !t.inputs.is_empty() {
                    push_wrapped(&mut out, "    with ", "      ", &inputs_line(t));
                }
            }
        }
        if !plan.assumptions.is_empty() {
            out.push_str("\nAssumptions\n");
            for a in &plan.assumptions {
                push_wrapped(&mut out, "  - ", "    ", a);
            }
        }
    }
    out
}

fn width(text: &str) -> usize {
    text.chars().count()
}

/// Appends `text` word-wrapped to [`WIDTH`]: the first line starts with `first`, the others
/// with `rest`. A word longer than a line is cut.
fn push_wrapped(out: &mut String, first: &str, rest: &str, text: &str) {
    let mut line = first.to_string();
    let mut empty = true;
    for word in text.split_whitespace() {
        let needed = width(&line) + usize::from(!empty) + width(word);
        if !empty && needed > WIDTH {
            out.push_str(line.trim_end());
            out.push('\n');
            line = rest.to_string();
            empty = true;
        }
        if !empty {
            line.push(' ');
        }
        line.push_str(word);
        empty = false;
        while width(&line) > WIDTH {
            let head: String = line.chars().take(WIDTH).collect();
            out.push_str(&head);
            out.push('\n');
            line = format!("{rest}{}", line.chars().skip(WIDTH).collect::<String>());
        }
    }
    out.push_str(line.trim_end());
    out.push('\n');
}

/// Cuts `text` to `max` characters, ending with `…` when cut.
fn fit(text: &str, max: usize) -> String {
    if width(text) <= max {
        return text.to_string();
    }
    let mut cut: String = text.chars().take(max.saturating_sub(1)).collect();
    cut.push('…');
    cut
}

/// A section as aligned columns under a rule. When the columns are wider than [`WIDTH`],
/// the widest text column is shortened (its cells end with `…`).
fn render_table(section: &Section) -> String {
    let n = section.headers.len();
    let mut widths: Vec<usize> = section.headers.iter().map(|h| width(h)).collect();
    for row in &section.rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(width(cell));
        }
    }
    let total = |w: &[usize]| w.iter().sum::<usize>() + GAP.len() * (n - 1);
    while total(&widths) > WIDTH {
        let text_column = (0..n)
            .filter(|&i| !section.numeric[i] && widths[i] > 8)
            .max_by_key(|&i| widths[i]);
        match text_column {
            Some(i) => widths[i] -= total(&widths).saturating_sub(WIDTH).min(widths[i] - 8),
            None => break,
        }
    }
    let line = |cells: Vec<String>| -> String {
        let mut text = String::new();
        for (i, cell) in cells.iter().enumerate() {
            let cell = fit(cell, widths[i]);
            let pad = widths[i] - width(&cell);
            if i > 0 {
                text.push_str(GAP);
            }
            if section.numeric[i] {
                text.push_str(&" ".repeat(pad));
                text.push_str(&cell);
            } else {
                text.push_str(&cell);
                text.push_str(&" ".repeat(pad));
            }
        }
        text.trim_end().to_string() + "\n"
    };
    let mut out = line(section.headers.iter().map(|h| h.to_string()).collect());
    out.push_str(&"─".repeat(total(&widths).min(WIDTH)));
    out.push('\n');
    for row in &section.rows {
        out.push_str(&line(row.clone()));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::render::sample;

    #[test]
    fn leads_with_what_matters_and_fits_the_terminal() {
        let text = table(&sample::plan(), &Program::default(), true);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "Plan");
        assert!(lines[2].starts_with("Monthly cost  $12,345/mo"), "{text}");
        assert!(
            lines[3].starts_with("Availability  99.962% vs SLO 99.95%"),
            "{text}"
        );
        assert!(
            text.contains("Bottleneck    orders_db saturates at 1.8×"),
            "{text}"
        );
        for l in &lines {
            assert!(width(l) <= WIDTH, "{} columns: {l}", width(l));
        }
        assert!(text.contains("POST /api/orders/:id/checkout"), "{text}");
        assert!(text.contains("n = max(min, ⌈λ·S / (c·u)⌉)"));
        assert!(text.contains("with λ = 10.8k rps, S = 2 ms"));
        assert!(text.contains("12.3k rps") || text.contains("10.8k rps"));
    }

    #[test]
    fn without_explain_there_are_no_formulas() {
        let text = table(&sample::plan(), &Program::default(), false);
        assert!(!text.contains("How each figure"));
        assert!(text.contains("$2,102"));
    }

    #[test]
    fn wide_tables_cut_their_text_columns() {
        let mut s = Section {
            title: "t",
            headers: vec!["name", "n"],
            numeric: vec![false, true],
            rows: vec![vec!["x".repeat(150), "1".into()]],
        };
        let text = render_table(&s);
        assert!(text.lines().all(|l| width(l) <= WIDTH), "{text}");
        assert!(text.contains('…'));
        s.rows[0][0] = "short".into();
        assert!(!render_table(&s).contains('…'));
    }

    #[test]
    fn wrapping_keeps_every_line_within_the_width() {
        let mut out = String::new();
        push_wrapped(&mut out, "  ", "    ", &"word ".repeat(60));
        push_wrapped(&mut out, "  ", "    ", &"y".repeat(230));
        assert!(out.lines().all(|l| width(l) <= WIDTH), "{out}");
        assert!(out.lines().count() >= 6);
    }
}
