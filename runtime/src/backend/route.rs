//! [`RoutedBroker`]: one [`Broker`] over several, choosing by queue name, so that each
//! queue runs on its declared engine (`redis`, `rabbitmq`, `kafka`) and the rest in
//! process. Settling goes to the broker the delivery came from.

use crate::queue::{Broker, BrokerError, Delivery, Message, MessageId};
use crate::BoxFuture;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

/// Queue name → broker, with a fallback for queues not listed.
#[derive(Debug)]
pub struct RoutedBroker {
    routes: HashMap<String, Arc<dyn Broker>>,
    fallback: Arc<dyn Broker>,
}

impl RoutedBroker {
    /// Routes `routes`' queues to their brokers and any other queue to `fallback`.
    pub fn new(routes: HashMap<String, Arc<dyn Broker>>, fallback: Arc<dyn Broker>) -> Self {
        Self { routes, fallback }
    }

    fn pick(&self, queue: &str) -> &Arc<dyn Broker> {
        self.routes.get(queue).unwrap_or(&self.fallback)
    }
}

impl Broker for RoutedBroker {
    fn publish<'a>(
        &'a self,
        queue: &'a str,
        message: Message,
    ) -> BoxFuture<'a, Result<MessageId, BrokerError>> {
        self.pick(queue).publish(queue, message)
    }

    fn receive<'a>(&'a self, queue: &'a str) -> BoxFuture<'a, Result<Delivery, BrokerError>> {
        self.pick(queue).receive(queue)
    }

    fn ack<'a>(&'a self, delivery: &'a Delivery) -> BoxFuture<'a, Result<(), BrokerError>> {
        self.pick(&delivery.queue).ack(delivery)
    }

    fn retry<'a>(
        &'a self,
        delivery: &'a Delivery,
        delay: Duration,
        error: &'a str,
    ) -> BoxFuture<'a, Result<(), BrokerError>> {
        self.pick(&delivery.queue).retry(delivery, delay, error)
    }

    fn dead_letter<'a>(
        &'a self,
        delivery: &'a Delivery,
        dead_letter: &'a str,
        reason: &'a str,
    ) -> BoxFuture<'a, Result<(), BrokerError>> {
        self.pick(&delivery.queue)
            .dead_letter(delivery, dead_letter, reason)
    }

    fn lag<'a>(&'a self, queue: &'a str) -> BoxFuture<'a, Result<u64, BrokerError>> {
        self.pick(queue).lag(queue)
    }

    fn ping(&self) -> BoxFuture<'_, Result<(), String>> {
        Box::pin(async move {
            // Each broker once, though several queues route to it.
            let mut distinct: Vec<&Arc<dyn Broker>> = Vec::new();
            for broker in self.routes.values().chain(std::iter::once(&self.fallback)) {
                if !distinct.iter().any(|b| Arc::ptr_eq(b, broker)) {
                    distinct.push(broker);
                }
            }
            for broker in distinct {
                broker.ping().await?;
            }
            Ok(())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::queue::MemoryBroker;

    #[tokio::test]
    async fn each_queue_goes_to_its_broker_and_settles_there() {
        let a = Arc::new(MemoryBroker::new());
        let rest = Arc::new(MemoryBroker::new());
        let mut routes: HashMap<String, Arc<dyn Broker>> = HashMap::new();
        routes.insert("orders".into(), a.clone());
        let routed = RoutedBroker::new(routes, rest.clone());
        routed
            .publish("orders", Message::new("x"))
            .await
            .expect("publish");
        routed
            .publish("other", Message::new("y"))
            .await
            .expect("publish");
        assert_eq!((a.depth("orders"), rest.depth("other")), (1, 1));
        assert_eq!((a.depth("other"), rest.depth("orders")), (0, 0));
        let d = routed.receive("orders").await.expect("receive");
        assert_eq!(a.in_flight("orders"), 1);
        routed
            .dead_letter(&d, "orders.dlq", "no")
            .await
            .expect("dlq");
        assert_eq!((a.in_flight("orders"), a.depth("orders.dlq")), (0, 1));
    }
}
