//! [`Outgoing`]: a record to produce, with the headers the broker keeps on it, and
//! producing it until the brokers take it.

use super::{backend, REQUEST_TIMEOUT};
use crate::queue::{BrokerError, MessageId, ATTEMPT_HEADER, ID_HEADER};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::{FutureProducer, FutureRecord};
use std::collections::BTreeMap;
use std::time::Duration;

/// The pause between tries to produce a record while the brokers cannot take it.
const REPRODUCE_PAUSE: Duration = Duration::from_secs(1);
/// Tries of [`Outgoing::deliver`]: each waits up to `message.timeout.ms` (10 s), so about a
/// minute in all.
pub const DELIVER_TRIES: u32 = 6;

/// Headers that say where a delivery was read from: kept on the delivery, never produced
/// again with a retry or a dead letter.
pub const PARTITION_HEADER: &str = "x-kafka-partition";
/// See [`PARTITION_HEADER`].
pub const OFFSET_HEADER: &str = "x-kafka-offset";

/// A record to produce.
#[derive(Debug, Clone)]
pub struct Outgoing {
    topic: String,
    key: Option<String>,
    payload: Vec<u8>,
    headers: BTreeMap<String, String>,
}

impl Outgoing {
    /// A record for `topic` carrying message `id` at `attempt`.
    pub fn new(
        topic: &str,
        payload: &[u8],
        key: Option<&str>,
        id: MessageId,
        attempt: u32,
    ) -> Self {
        let mut headers = BTreeMap::new();
        headers.insert(ID_HEADER.to_string(), id.to_string());
        headers.insert(ATTEMPT_HEADER.to_string(), attempt.to_string());
        Self {
            topic: topic.to_string(),
            key: key.map(str::to_string),
            payload: payload.to_vec(),
            headers,
        }
    }

    /// The topic it goes to.
    pub fn topic(&self) -> &str {
        &self.topic
    }

    /// Adds `headers`, except the id, the attempt and where a delivery was read from.
    pub fn with_headers(mut self, headers: &BTreeMap<String, String>) -> Self {
        for (k, v) in headers {
            if k == PARTITION_HEADER || k == OFFSET_HEADER {
                continue;
            }
            self.headers.entry(k.clone()).or_insert_with(|| v.clone());
        }
        self
    }

    /// Produces the record, within librdkafka's own retries (`message.timeout.ms`).
    pub async fn send(&self, producer: &FutureProducer) -> Result<(), BrokerError> {
        self.send_once(producer).await.map_err(backend)
    }

    async fn send_once(&self, producer: &FutureProducer) -> Result<(), KafkaError> {
        let headers = self.headers.iter().fold(OwnedHeaders::new(), |hs, (k, v)| {
            hs.insert(Header {
                key: k,
                value: Some(v.as_bytes()),
            })
        });
        let mut record = FutureRecord::to(&self.topic)
            .payload(&self.payload)
            .headers(headers);
        if let Some(key) = &self.key {
            record = record.key(key);
        }
        producer
            .send(record, REQUEST_TIMEOUT)
            .await
            .map(|_| ())
            .map_err(|(e, _)| e)
    }

    /// Produces the record, trying again while the brokers cannot take it (down,
    /// unreachable, busy), for records that must not be lost: due retries and delayed
    /// messages, dead letters. Fails on an error that trying again cannot cure (a record
    /// too large, a topic refused) and after [`DELIVER_TRIES`] tries, so that a missing
    /// dead-letter topic does not hold a consumer slot for good.
    pub async fn deliver(&self, producer: &FutureProducer) -> Result<(), BrokerError> {
        let mut tries = 0;
        loop {
            tries += 1;
            match self.send_once(producer).await {
                Ok(()) => return Ok(()),
                Err(e) if permanent(&e) || tries >= DELIVER_TRIES => {
                    return Err(backend(format!("{e} (producing to `{}`)", self.topic)))
                }
                Err(_) => tokio::time::sleep(REPRODUCE_PAUSE).await,
            }
        }
    }
}

fn permanent(e: &KafkaError) -> bool {
    matches!(
        e.rdkafka_error_code(),
        Some(
            RDKafkaErrorCode::MessageSizeTooLarge
                | RDKafkaErrorCode::InvalidMessageSize
                | RDKafkaErrorCode::InvalidMessage
                | RDKafkaErrorCode::InvalidTopic
                | RDKafkaErrorCode::TopicAuthorizationFailed
                | RDKafkaErrorCode::ClusterAuthorizationFailed
                | RDKafkaErrorCode::InvalidRecord
        )
    )
}
