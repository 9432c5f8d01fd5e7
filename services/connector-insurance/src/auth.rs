//! Sender authentication: bearer tokens configured as SHA-256 hashes, each bound to a sender
//! code ([`hub_ingress::auth`], shared with the imaging connector).

pub use hub_ingress::auth::{AuthOutcome, Sender, SenderConfig, SenderError, Senders, token_hash};

use crate::settings::SenderSettings;

impl SenderConfig for SenderSettings {
    fn code(&self) -> &str {
        &self.code
    }

    fn token_sha256(&self) -> &[String] {
        &self.token_sha256
    }

    fn http(&self) -> bool {
        self.http
    }

    fn synthetic(&self) -> bool {
        self.synthetic
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sender(code: &str, token: &str, http: bool) -> SenderSettings {
        let mut s = SenderSettings::new(code);
        s.token_sha256 = vec![token_hash(token)];
        s.http = http;
        s
    }

    #[test]
    fn tokens_map_to_their_sender() {
        let senders = Senders::from_settings(&[
            sender("YB01", "t-one", true),
            sender("YB02", "t-two", false),
        ])
        .unwrap();
        match senders.authenticate(Some("Bearer t-one")) {
            AuthOutcome::Allowed(s) => assert_eq!(s.code, "YB01"),
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            senders.authenticate(Some("Bearer t-two")),
            AuthOutcome::Forbidden(_)
        ));
        for bad in [
            None,
            Some("Bearer nope"),
            Some("Basic t-one"),
            Some("Bearer "),
        ] {
            assert_eq!(senders.authenticate(bad), AuthOutcome::Unauthenticated);
        }
    }

    #[test]
    fn refuses_bad_configuration() {
        let mut bad_hash = SenderSettings::new("YB01");
        bad_hash.token_sha256 = vec!["abc".into()];
        assert!(Senders::from_settings(&[bad_hash]).is_err());
        assert!(Senders::from_settings(&[SenderSettings::new("A:B")]).is_err());
        assert!(Senders::from_settings(&[sender("A", "t", true), sender("B", "t", true)]).is_err());
        assert!(Senders::from_settings(&[sender("A", "t", true), sender("A", "u", true)]).is_err());
    }
}
