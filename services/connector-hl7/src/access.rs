//! Source-address allow-lists: exact addresses or CIDR blocks, IPv4 and IPv6 (an IPv4-mapped
//! IPv6 peer matches its IPv4 entries).

use std::net::IpAddr;

use ipnet::IpNet;

/// Addresses allowed to connect to a listener; empty allows everyone.
#[derive(Debug, Clone, Default)]
pub struct AllowList {
    nets: Vec<IpNet>,
}

/// An allow-list entry that is neither an address nor a CIDR block.
#[derive(Debug, Clone, thiserror::Error)]
#[error("'{0}' is not an IP address or CIDR block")]
pub struct InvalidEntry(pub String);

impl AllowList {
    /// Parses `entries` (`10.0.0.0/8`, `192.168.1.20`, `::1`).
    ///
    /// # Errors
    /// The first entry that does not parse.
    pub fn parse(entries: &[String]) -> Result<Self, InvalidEntry> {
        let nets = entries
            .iter()
            .map(|e| {
                let e = e.trim();
                e.parse::<IpNet>()
                    .or_else(|_| e.parse::<IpAddr>().map(IpNet::from))
                    .map_err(|_| InvalidEntry(e.to_owned()))
            })
            .collect::<Result<_, _>>()?;
        Ok(Self { nets })
    }

    /// Whether `peer` may connect.
    pub fn allows(&self, peer: IpAddr) -> bool {
        if self.nets.is_empty() {
            return true;
        }
        let peer = peer.to_canonical();
        self.nets.iter().any(|n| n.contains(&peer))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_addresses_and_blocks() {
        let list =
            AllowList::parse(&["10.12.0.0/16".into(), " 192.168.8.20 ".into(), "::1".into()])
                .unwrap();
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        assert!(list.allows(ip("10.12.200.1")));
        assert!(!list.allows(ip("10.13.0.1")));
        assert!(list.allows(ip("192.168.8.20")));
        assert!(!list.allows(ip("192.168.8.21")));
        assert!(list.allows(ip("::1")));
        assert!(list.allows(ip("::ffff:10.12.0.9")));
        assert!(AllowList::default().allows(ip("8.8.8.8")));
        assert!(AllowList::parse(&["10.0.0.0/33".into()]).is_err());
        assert!(AllowList::parse(&["hospital.local".into()]).is_err());
    }
}
