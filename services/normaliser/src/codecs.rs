//! The normaliser's encoders: the shared [`hub_avro::CanonicalCodecs`].

pub use hub_avro::CanonicalCodecs as Codecs;
