//! What the generated system does not do the way its `.arch` file reads, for `archc
//! generate` to say after writing: limits of the runtime, not faults of the program, so
//! they are not `archc check` diagnostics.

use crate::model::{Program, QueueEngine};

/// One sentence per caveat, in program order.
pub fn caveats(program: &Program) -> Vec<String> {
    let mut out = Vec::new();
    for service in &program.services {
        let replicas = service.replicas.value.max;
        if replicas < 2 {
            continue;
        }
        for consumer in &service.consumers {
            let Some(queue) = consumer
                .from
                .as_ref()
                .and_then(|from| program.queue(&from.name))
            else {
                continue;
            };
            if queue.engine.value != QueueEngine::Kafka {
                continue;
            }
            out.push(format!(
                "service `{}` runs up to {replicas} replicas and consumes the Kafka queue `{}`: \
                 the generated runtime's Kafka client joins no consumer group, so every replica \
                 processes every message, and each reads the others' retries too; make \
                 `consume_{}` idempotent, or give `{}` engine = redis or rabbitmq, whose \
                 consumers share the messages",
                service.name.value, queue.name.value, consumer.name.value, queue.name.value
            ));
        }
    }
    out
}
