//! The connector's producer: [`hub_kafka::resettable::ResettableProducer`], replaced after a
//! delivery failure that is not the record's fault (see there for why).

pub use hub_kafka::resettable::{ProducerError, ResettableProducer as SharedProducer};
