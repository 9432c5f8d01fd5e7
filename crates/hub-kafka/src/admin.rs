//! Idempotent topic creation.

use std::time::Duration;

use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::error::{KafkaError, RDKafkaErrorCode};

use crate::error::KafkaFailure;
use crate::settings::KafkaSettings;

/// A topic the hub needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopicSpec {
    /// Topic name.
    pub name: String,
    /// Partition count (parallelism of consumers; ordering holds per key within a partition).
    pub partitions: i32,
    /// Replication factor (1 on a single local broker, 3 in production).
    pub replication: i32,
}

impl TopicSpec {
    /// A topic with the given partitions and replication factor 1.
    pub fn new(name: impl Into<String>, partitions: i32) -> Self {
        Self {
            name: name.into(),
            partitions,
            replication: 1,
        }
    }
}

/// Creates every topic in `topics` that does not exist yet; existing topics are left unchanged.
///
/// # Errors
/// The cluster cannot be reached, or refuses a creation for another reason than existence.
pub async fn ensure_topics(
    settings: &KafkaSettings,
    topics: &[TopicSpec],
) -> Result<(), KafkaFailure> {
    if topics.is_empty() {
        return Ok(());
    }
    let admin: AdminClient<DefaultClientContext> = settings.client_config("hub-admin").create()?;
    let new_topics: Vec<NewTopic<'_>> = topics
        .iter()
        .map(|t| {
            NewTopic::new(
                &t.name,
                t.partitions,
                TopicReplication::Fixed(t.replication),
            )
        })
        .collect();
    let options = AdminOptions::new().operation_timeout(Some(Duration::from_secs(30)));
    for result in admin.create_topics(&new_topics, &options).await? {
        match result {
            Ok(_) | Err((_, RDKafkaErrorCode::TopicAlreadyExists)) => {}
            Err((_, code)) => return Err(KafkaFailure::from(KafkaError::AdminOp(code))),
        }
    }
    Ok(())
}
