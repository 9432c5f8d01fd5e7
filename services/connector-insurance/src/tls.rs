//! HTTPS for the API: [`hub_ingress::tls`] (a rustls acceptor from PEM files and an
//! `axum::serve::Listener` that hands axum only finished handshakes).

pub use hub_ingress::tls::{TlsError, TlsListener, acceptor};
