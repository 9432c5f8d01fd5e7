//! Typed encode and decode of canonical events in the Confluent wire format.
//!
//! The hot path uses `serde_avro_fast`, which reads and writes Avro straight to and from the
//! generated Rust types (measured in `benches/avro_codec.rs` against apache-avro; the bytes are
//! identical). A message written with another schema version is decoded with that writer schema,
//! fetched from the registry by id once and cached; the reader type then takes the fields it
//! knows and fills new ones from their defaults.

use std::collections::HashMap;
use std::marker::PhantomData;
use std::sync::{Arc, RwLock};

use hub_schemas::CanonicalEvent;
use serde_avro_fast::Schema;

use crate::registry::{RegistryClient, RegistryError};
use crate::wire::{self, WireError};

/// Why an event could not be encoded or decoded.
#[derive(Debug, thiserror::Error)]
pub enum CodecError {
    /// Not Confluent-framed.
    #[error(transparent)]
    Wire(#[from] WireError),
    /// A schema (ours or a writer's) does not parse.
    #[error("schema {id} does not parse: {message}")]
    Schema {
        /// Schema id.
        id: u32,
        /// Parser message.
        message: String,
    },
    /// The value does not fit the schema (encode) or the bytes do not fit (decode).
    #[error("avro data does not match schema {id}: {message}")]
    Data {
        /// Schema id.
        id: u32,
        /// Serde message; never contains field values.
        message: String,
    },
    /// The writer's schema could not be fetched.
    #[error(transparent)]
    Registry(#[from] RegistryError),
}

impl CodecError {
    /// Whether the failure is the input's fault (dead-letter it) rather than a transient one.
    pub fn is_bad_data(&self) -> bool {
        match self {
            Self::Wire(_) | Self::Data { .. } => true,
            Self::Schema { .. } => false,
            Self::Registry(e) => !e.is_transient(),
        }
    }
}

/// Encoder and decoder for one canonical event type.
pub struct EventCodec<T> {
    schema_id: u32,
    schema: Arc<Schema>,
    writers: RwLock<HashMap<u32, Arc<Schema>>>,
    registry: Option<RegistryClient>,
    _type: PhantomData<fn() -> T>,
}

impl<T> std::fmt::Debug for EventCodec<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EventCodec")
            .field("schema_id", &self.schema_id)
            .finish_non_exhaustive()
    }
}

impl<T: CanonicalEvent> EventCodec<T> {
    /// Registers the type's schema under its subject and returns a codec writing with that id.
    ///
    /// # Errors
    /// The registry refuses the schema or cannot be reached.
    pub async fn register(registry: RegistryClient) -> Result<Self, CodecError> {
        let contract = T::CONTRACT;
        let id = registry.register(contract.subject, contract.schema).await?;
        let mut codec = Self::with_schema_id(id)?;
        codec.registry = Some(registry);
        Ok(codec)
    }

    /// A codec for an already known schema id, without a registry (tests, benchmarks, tools).
    /// It decodes only messages written with that id.
    ///
    /// # Errors
    /// The committed schema does not parse (a build that passed its tests cannot hit this).
    pub fn with_schema_id(schema_id: u32) -> Result<Self, CodecError> {
        let schema = parse(schema_id, T::CONTRACT.schema)?;
        Ok(Self {
            schema_id,
            schema,
            writers: RwLock::default(),
            registry: None,
            _type: PhantomData,
        })
    }

    /// The id this codec writes with.
    pub fn schema_id(&self) -> u32 {
        self.schema_id
    }

    /// Encodes `value` as header plus Avro datum.
    ///
    /// # Errors
    /// The value does not fit the schema.
    pub fn encode(&self, value: &T) -> Result<Vec<u8>, CodecError> {
        let mut out = Vec::with_capacity(256);
        self.encode_into(value, &mut out)?;
        Ok(out)
    }

    /// Appends the framed encoding of `value` to `out` (reuse `out` to avoid allocations).
    ///
    /// # Errors
    /// The value does not fit the schema.
    pub fn encode_into(&self, value: &T, out: &mut Vec<u8>) -> Result<(), CodecError> {
        wire::write_header(out, self.schema_id);
        let mut config = serde_avro_fast::ser::SerializerConfig::new(&self.schema);
        let written =
            serde_avro_fast::to_datum(value, std::mem::take(out), &mut config).map_err(|e| {
                CodecError::Data {
                    id: self.schema_id,
                    message: e.to_string(),
                }
            })?;
        *out = written;
        Ok(())
    }

    /// Decodes a framed payload, fetching the writer's schema from the registry when it is not
    /// the codec's own and not yet cached.
    ///
    /// # Errors
    /// Bad framing, bytes that do not match the writer schema, or an unknown writer schema.
    pub async fn decode(&self, payload: &[u8]) -> Result<T, CodecError> {
        let (id, _) = wire::unframe(payload)?;
        if id != self.schema_id && self.cached_writer(id).is_none() {
            let registry =
                self.registry
                    .as_ref()
                    .ok_or(CodecError::Registry(RegistryError::Refused {
                        status: 404,
                        error_code: 40403,
                        message: format!("schema {id} unknown to a codec without a registry"),
                    }))?;
            let text = registry.schema_by_id(id).await?;
            let schema = parse(id, &text)?;
            self.writers
                .write()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .insert(id, schema);
        }
        self.decode_cached(payload)
    }

    /// Decodes a framed payload whose writer schema is this codec's own or already cached.
    ///
    /// # Errors
    /// Bad framing, bytes that do not match, or a writer schema not yet cached.
    pub fn decode_cached(&self, payload: &[u8]) -> Result<T, CodecError> {
        let (id, datum) = wire::unframe(payload)?;
        let schema = if id == self.schema_id {
            self.schema.clone()
        } else {
            self.cached_writer(id).ok_or_else(|| CodecError::Data {
                id,
                message: "writer schema not cached; use decode()".into(),
            })?
        };
        serde_avro_fast::from_datum_slice(datum, &schema).map_err(|e| CodecError::Data {
            id,
            message: e.to_string(),
        })
    }

    fn cached_writer(&self, id: u32) -> Option<Arc<Schema>> {
        self.writers
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(&id)
            .cloned()
    }
}

fn parse(id: u32, text: &str) -> Result<Arc<Schema>, CodecError> {
    text.parse::<Schema>()
        .map(Arc::new)
        .map_err(|e| CodecError::Schema {
            id,
            message: e.to_string(),
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use hub_schemas::{LabResult, Provenance};

    fn sample() -> LabResult {
        LabResult {
            event_id: "lab-1".into(),
            person_id: "P-1".into(),
            facility_code: "H21028100001".into(),
            event_time: 1_700_000_000_000,
            provenance: Provenance {
                source_topic: "raw.lab.hl7v2".into(),
                source_offset: 42,
                ..Provenance::default()
            },
            ..LabResult::default()
        }
    }

    #[tokio::test]
    async fn encodes_confluent_frames_and_decodes_them_back() {
        let codec = EventCodec::<LabResult>::with_schema_id(7).unwrap();
        let bytes = codec.encode(&sample()).unwrap();
        assert_eq!(&bytes[..5], &[0, 0, 0, 0, 7]);
        assert_eq!(codec.decode(&bytes).await.unwrap(), sample());
    }

    #[tokio::test]
    async fn bad_input_is_bad_data_not_a_panic() {
        let codec = EventCodec::<LabResult>::with_schema_id(7).unwrap();
        for payload in [&b""[..], b"\x01\0\0\0\x07", b"\0\0\0\0\x07\xff\xff\xff"] {
            let err = codec.decode(payload).await.unwrap_err();
            assert!(err.is_bad_data(), "{err}");
        }
        let unknown = codec.decode(&[0, 0, 0, 0, 9, 0]).await.unwrap_err();
        assert!(unknown.is_bad_data(), "{unknown}");
    }
}
