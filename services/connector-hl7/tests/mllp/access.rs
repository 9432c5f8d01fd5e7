//! Who may connect: the source-address allow-list, the connection limit, and TLS with client
//! certificates.

use std::sync::Arc;
use std::time::Duration;

use connector_hl7::SourceKind;
use connector_hl7::settings::TlsSettings;
use hub_test_utils::{kafka_bootstrap, random_name};
use rcgen::{BasicConstraints, CertificateParams, IsCa, Issuer, KeyPair};
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
    client_chain: Vec<CertificateDer<'static>>,
    client_key: PrivateKeyDer<'static>,
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
    let client_key = KeyPair::generate()?;
    let client = CertificateParams::new(vec!["h21028100002.facility.hub".into()])?
        .signed_by(&client_key, &issuer)?;
    std::fs::write(dir.join("server.crt"), server.pem())?;
    std::fs::write(dir.join("server.key"), server_key.serialize_pem())?;
    std::fs::write(dir.join("ca.crt"), ca_cert.pem())?;
    Ok(Pki {
        dir,
        ca: ca_cert.der().clone(),
        client_chain: vec![client.der().clone()],
        client_key: PrivatePkcs8KeyDer::from(client_key.serialize_der()).into(),
    })
}

fn connector_for(pki: &Pki, with_client_cert: bool) -> anyhow::Result<TlsConnector> {
    let provider = Arc::new(tokio_rustls::rustls::crypto::aws_lc_rs::default_provider());
    let mut roots = RootCertStore::empty();
    roots.add(pki.ca.clone())?;
    let builder = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_root_certificates(roots);
    let config = if with_client_cert {
        builder.with_client_auth_cert(pki.client_chain.clone(), pki.client_key.clone_key())?
    } else {
        builder.with_no_client_auth()
    };
    Ok(TlsConnector::from(Arc::new(config)))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_listener_requires_a_client_certificate() -> anyhow::Result<()> {
    let pki = pki()?;
    let mut l = listener("H6", SourceKind::Imaging);
    l.tls = Some(TlsSettings {
        cert_file: pki.dir.join("server.crt"),
        key_file: pki.dir.join("server.key"),
        client_ca_file: Some(pki.dir.join("ca.crt")),
    });
    let connector = Running::start(settings(&kafka_bootstrap(), vec![l])).await?;
    let addr = connector.addrs[0];
    let name = ServerName::try_from("localhost")?;

    let tcp = TcpStream::connect(addr).await?;
    let mut tls = connector_for(&pki, true)?
        .connect(name.clone(), tcp)
        .await?;
    tls.write_all(&frame(&adt("TLS-1"))).await?;
    let mut ack = vec![0u8; 4096];
    let n = tokio::time::timeout(Duration::from_secs(30), tls.read(&mut ack)).await??;
    assert_eq!(msa(&ack[1..n.saturating_sub(2)]).0, "AA");

    // Without a client certificate the handshake (or the first read) fails.
    let tcp = TcpStream::connect(addr).await?;
    let refused = match connector_for(&pki, false)?.connect(name, tcp).await {
        Err(_) => true,
        Ok(mut stream) => {
            let _ = stream.write_all(&frame(&adt("TLS-2"))).await;
            let mut buf = [0u8; 64];
            !matches!(stream.read(&mut buf).await, Ok(n) if n > 0)
        }
    };
    assert!(refused, "a client without certificate must not be served");
    let _ = std::fs::remove_dir_all(&pki.dir);
    connector.stop().await
}
