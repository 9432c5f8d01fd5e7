//! Who may connect: the source-address allow-list, the connection limit, and TLS with client
//! certificates.

use std::sync::Arc;
use std::time::Duration;

use connector_hl7::SourceKind;
use connector_hl7::settings::TlsSettings;
use hub_test_utils::{kafka_bootstrap, random_name};
use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::rustls::pki_types::{
    CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, ServerName,
};
use tokio_rustls::rustls::{ClientConfig, RootCertStore};

use crate::support::{Client, Running, adt, frame, listener, msa, settings};

/// Whether the server closes `stream` without answering (EOF or reset within a few seconds).
async fn closed_by_server(stream: &mut TcpStream) -> bool {
    let _ = stream.write_all(&frame(&adt("REFUSED"))).await;
    let mut buf = [0u8; 64];
    matches!(
        tokio::time::timeout(Duration::from_secs(5), stream.read(&mut buf)).await,
        Ok(Ok(0)) | Ok(Err(_))
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn addresses_outside_the_allow_list_are_refused() -> anyhow::Result<()> {
    let mut refused = listener("H3", SourceKind::His);
    refused.allowed_sources = vec!["10.0.0.0/8".into(), "192.168.1.7".into()];
    let mut allowed = listener("H4", SourceKind::His);
    allowed.allowed_sources = vec!["127.0.0.0/8".into()];
    let connector = Running::start(settings(&kafka_bootstrap(), vec![refused, allowed])).await?;
    let mut stream = TcpStream::connect(connector.addrs[0]).await?;
    assert!(closed_by_server(&mut stream).await);
    assert_eq!(
        connector.metric(
            "hub_hl7_refused_connections_total",
            &[("reason", "not_allowed")]
        ),
        1.0
    );
    let mut ok = Client::connect(connector.addrs[1]).await?;
    assert_eq!(msa(&ok.call(&adt("ALLOWED-1")).await?).0, "AA");
    connector.stop().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_beyond_the_limit_are_refused() -> anyhow::Result<()> {
    let mut l = listener("H5", SourceKind::Lab);
    l.max_connections = 2;
    let connector = Running::start(settings(&kafka_bootstrap(), vec![l])).await?;
    let addr = connector.addrs[0];
    let mut first = Client::connect(addr).await?;
    let mut second = Client::connect(addr).await?;
    assert_eq!(msa(&first.call(&adt("LIMIT-1")).await?).0, "AA");
    assert_eq!(msa(&second.call(&adt("LIMIT-2")).await?).0, "AA");
    assert_eq!(connector.metric("hub_hl7_open_connections", &[]), 2.0);
    let mut third = TcpStream::connect(addr).await?;
    assert!(closed_by_server(&mut third).await);
    assert_eq!(
        connector.metric(
            "hub_hl7_refused_connections_total",
            &[("reason", "connection_limit")]
        ),
        1.0
    );
    drop(first);
    // The slot frees once the server sees the close.
    let mut again = None;
    for _ in 0..50 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        if connector.metric("hub_hl7_open_connections", &[]) < 2.0 {
            again = Some(Client::connect(addr).await?);
            break;
        }
    }
    let mut again = again.expect("a slot freed");
    assert_eq!(msa(&again.call(&adt("LIMIT-3")).await?).0, "AA");
    assert_eq!(msa(&second.call(&adt("LIMIT-4")).await?).0, "AA");
    connector.stop().await
}

struct Pki {
    dir: std::path::PathBuf,
    ca: CertificateDer<'static>,
    issuer: Issuer<'static, KeyPair>,
}

/// A certificate the test CA issues with `common_name` as subject CN and `dns` as SANs.
struct ClientCert {
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
}

fn pki() -> anyhow::Result<Pki> {
    let dir = std::env::temp_dir().join(random_name("hl7-tls"));
    std::fs::create_dir_all(&dir)?;
    let ca_key = KeyPair::generate()?;
    let mut ca_params = CertificateParams::new(Vec::<String>::new())?;
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca_cert = ca_params.self_signed(&ca_key)?;
    let issuer = Issuer::new(ca_params, ca_key);
    let server_key = KeyPair::generate()?;
    let server = CertificateParams::new(vec!["localhost".into(), "127.0.0.1".into()])?
        .signed_by(&server_key, &issuer)?;
    std::fs::write(dir.join("server.crt"), server.pem())?;
    std::fs::write(dir.join("server.key"), server_key.serialize_pem())?;
    std::fs::write(dir.join("ca.crt"), ca_cert.pem())?;
    Ok(Pki {
        dir,
        ca: ca_cert.der().clone(),
        issuer,
    })
}

fn client_cert(pki: &Pki, common_name: &str, dns: &[&str]) -> anyhow::Result<ClientCert> {
    let key = KeyPair::generate()?;
    let mut params =
        CertificateParams::new(dns.iter().map(|d| (*d).to_owned()).collect::<Vec<_>>())?;
    params
        .distinguished_name
        .push(DnType::CommonName, common_name);
    let cert = params.signed_by(&key, &pki.issuer)?;
    Ok(ClientCert {
        chain: vec![cert.der().clone()],
        key: PrivatePkcs8KeyDer::from(key.serialize_der()).into(),
    })
}

fn connector_for(pki: &Pki, client: Option<&ClientCert>) -> anyhow::Result<TlsConnector> {
    let provider = Arc::new(tokio_rustls::rustls::crypto::aws_lc_rs::default_provider());
    let mut roots = RootCertStore::empty();
    roots.add(pki.ca.clone())?;
    let builder = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_root_certificates(roots);
    let config = match client {
        Some(c) => builder.with_client_auth_cert(c.chain.clone(), c.key.clone_key())?,
        None => builder.with_no_client_auth(),
    };
    Ok(TlsConnector::from(Arc::new(config)))
}

fn tls_listener(
    pki: &Pki,
    facility: &str,
    client_names: Vec<String>,
) -> connector_hl7::ListenerSettings {
    let mut l = listener(facility, SourceKind::Imaging);
    l.tls = Some(TlsSettings {
        cert_file: pki.dir.join("server.crt"),
        key_file: pki.dir.join("server.key"),
        client_ca_file: Some(pki.dir.join("ca.crt")),
        client_names,
    });
    l
}

/// MSA-1 of a message sent over TLS with `client` (`None`: the handshake or the connection
/// failed, the connector served nothing).
async fn tls_call(
    addr: std::net::SocketAddr,
    pki: &Pki,
    client: Option<&ClientCert>,
    id: &str,
) -> anyhow::Result<Option<String>> {
    let name = ServerName::try_from("localhost")?;
    let tcp = TcpStream::connect(addr).await?;
    let Ok(mut stream) = connector_for(pki, client)?.connect(name, tcp).await else {
        return Ok(None);
    };
    if stream.write_all(&frame(&adt(id))).await.is_err() {
        return Ok(None);
    }
    let mut ack = vec![0u8; 4096];
    match tokio::time::timeout(Duration::from_secs(30), stream.read(&mut ack)).await? {
        Ok(n) if n > 3 => Ok(Some(msa(&ack[1..n - 2]).0)),
        _ => Ok(None),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_listener_requires_a_client_certificate() -> anyhow::Result<()> {
    let pki = pki()?;
    let connector = Running::start(settings(
        &kafka_bootstrap(),
        vec![tls_listener(&pki, "H6", vec![])],
    ))
    .await?;
    let addr = connector.addrs[0];
    let h6 = client_cert(&pki, "H6", &[])?;
    assert_eq!(
        tls_call(addr, &pki, Some(&h6), "TLS-1").await?.as_deref(),
        Some("AA")
    );
    // Without a client certificate the handshake (or the first read) fails.
    assert_eq!(tls_call(addr, &pki, None, "TLS-2").await?, None);
    let _ = std::fs::remove_dir_all(&pki.dir);
    connector.stop().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_certificate_of_another_facility_is_refused() -> anyhow::Result<()> {
    let pki = pki()?;
    let names = vec!["h7.facility.example".to_owned()];
    let listeners = vec![
        tls_listener(&pki, "H21028100002", vec![]),
        tls_listener(&pki, "H7", names),
    ];
    let connector = Running::start(settings(&kafka_bootstrap(), listeners)).await?;
    let (own, named) = (connector.addrs[0], connector.addrs[1]);
    // The facility code as CN, or (any case) as a DNS name: accepted.
    let by_cn = client_cert(&pki, "H21028100002", &[])?;
    let by_san = client_cert(&pki, "interface engine", &["h21028100002"])?;
    assert_eq!(
        tls_call(own, &pki, Some(&by_cn), "CN-1").await?.as_deref(),
        Some("AA")
    );
    assert_eq!(
        tls_call(own, &pki, Some(&by_san), "SAN-1")
            .await?
            .as_deref(),
        Some("AA")
    );
    // Same CA, another facility (in CN and SAN): refused in the handshake.
    let other = client_cert(&pki, "H21028100003", &["h21028100003"])?;
    assert_eq!(tls_call(own, &pki, Some(&other), "OTHER-1").await?, None);
    // A name that merely contains the code is not the code.
    let longer = client_cert(&pki, "H21028100002X", &["h21028100002.evil.example"])?;
    assert_eq!(tls_call(own, &pki, Some(&longer), "OTHER-2").await?, None);
    assert_eq!(
        connector.metric(
            "hub_hl7_refused_connections_total",
            &[("reason", "client_certificate_name")]
        ),
        2.0
    );
    // Configured client names replace the facility code.
    let h7 = client_cert(&pki, "H7", &[])?;
    let h7_host = client_cert(&pki, "H7 engine", &["h7.facility.example"])?;
    assert_eq!(tls_call(named, &pki, Some(&h7), "H7-1").await?, None);
    assert_eq!(
        tls_call(named, &pki, Some(&h7_host), "H7-2")
            .await?
            .as_deref(),
        Some("AA")
    );
    let _ = std::fs::remove_dir_all(&pki.dir);
    connector.stop().await
}
