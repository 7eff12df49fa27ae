//! `job`: a cron-scheduled task that runs an endpoint or publishes to a queue.

use super::common::*;
use crate::model::reader::{Member, Reader, Sink};
use crate::model::value::*;
use crate::model::{Kind, Name};
use crate::syntax::ast::Block;
use schemars::JsonSchema;
use serde::Serialize;

/// A scheduled job.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct Job {
    pub name: Name,
    pub schedule: Option<Spanned<String>>,
    pub runs: Option<PathRef>,
    pub publishes: Option<Ref>,
    pub timeout: Option<Spanned<Millis>>,
    pub overlap: Spanned<bool>,
}

pub(crate) fn lower_job(block: &Block, sink: &Sink) -> Job {
    let name = component_name(block, sink);
    let r = Reader::new(block, sink);
    let runs = match r.target("runs", &[], &[Member::Endpoint]) {
        Some(Target::Member(p)) => Some(p),
        _ => None,
    };
    let publishes = r.reference("publishes", &[Kind::Queue]);
    if runs.is_none() && publishes.is_none() && !block.items.iter().any(|i| matches!(i, crate::syntax::ast::Item::Attribute(a) if a.key.text == "runs" || a.key.text == "publishes")) {
        r.missing("runs", "my_service.my_endpoint` (or `publishes = my_queue");
    }
    let job = Job {
        name,
        schedule: required(&r, "schedule", "\"0 3 * * *\"", r.string("schedule")),
        runs,
        publishes,
        timeout: r.positive_duration("timeout"),
        overlap: r.bool("overlap").unwrap_or_else(|| dflt(&r, false)),
    };
    r.finish();
    job
}
