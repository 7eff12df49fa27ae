//! What the generated system does not do the way its `.arch` file reads, for `archc
//! generate` to say after writing: limits of the runtime, not faults of the program, so
//! they are not `archc check` diagnostics.

use crate::model::{Delivery, Program, QueueEngine};

/// One sentence per caveat, in program order.
pub fn caveats(program: &Program) -> Vec<String> {
    let mut out = Vec::new();
    for queue in &program.queues {
        if queue.engine.value != QueueEngine::Kafka {
            continue;
        }
        let name = &queue.name.value;
        if let Some(delay) = queue.delay.as_ref().filter(|d| d.value.0 > 0.0) {
            out.push(format!(
                "queue `{name}` is on Kafka with delay = {}: Kafka has no delayed delivery, so \
                 the generated runtime holds each message in the publishing process until it \
                 is due, and loses it if that process stops first; give `{name}` engine = \
                 redis or rabbitmq, which keep delayed messages in the broker",
                delay.value
            ));
        }
        if queue.delivery.value == Delivery::ExactlyOnce {
            out.push(format!(
                "queue `{name}` declares delivery = exactly_once: the generated runtime's \
                 Kafka consumers deliver at least once (they use no Kafka transactions), so a \
                 message can be handled again after a crash or a rebalance; make the \
                 consumers of `{name}` idempotent"
            ));
        }
    }
    out
}
