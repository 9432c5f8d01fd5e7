//! Unit tests of the ACK format: separators, versions, charsets, enhanced mode, ERR segments.

use super::*;

fn ack(
    message: &[u8],
    rejection: Option<Rejection>,
    charset: Charset,
) -> (Option<AckCode>, Vec<u8>) {
    let msh = Msh::parse(message).ok();
    let outcome = rejection.map_or(Ok(()), Err);
    let code = ack_code(msh.as_ref(), outcome);
    let input = AckInput {
        msh: msh.as_ref(),
        rejection,
        charset,
        control_id: "ACK1",
        timestamp: "20240501083000+0800",
    };
    let bytes = code.map(|c| build_ack(&input, c)).unwrap_or_default();
    (code, bytes)
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).replace('\r', "\n")
}

const ADT_251: &[u8] =
    b"MSH|^~\\&|HIS|H001|HUB|COUNTY|20240501083000||ADT^A01^ADT_A01|MSG00001|P|2.5.1\rPID|1\r";

#[test]
fn original_mode_accept_swaps_sender_and_receiver() {
    let (code, bytes) = ack(ADT_251, None, Charset::UTF_8);
    assert_eq!(code, Some(AckCode::AA));
    assert_eq!(
        text(&bytes),
        "MSH|^~\\&|HUB|COUNTY|HIS|H001|20240501083000+0800||ACK^A01^ACK|ACK1|P|2.5.1\nMSA|AA|MSG00001\n"
    );
}

#[test]
fn v25_error_has_err_with_location_code_and_severity() {
    let (code, bytes) = ack(ADT_251, Some(Rejection::UnsupportedCharset), Charset::UTF_8);
    assert_eq!(code, Some(AckCode::AE));
    let t = text(&bytes);
    assert!(
        t.contains("MSA|AE|MSG00001|MSH-18 names an unsupported character set\n"),
        "{t}"
    );
    assert!(t.ends_with("ERR||MSH^1^18|103^Table value not found^HL70357|E||||MSH-18 names an unsupported character set\n"), "{t}");
}

#[test]
fn v23_error_uses_the_eld_layout_and_its_own_separators() {
    let msg = b"MSH#$*!@#LAB#L1#HUB#C#20240501##ORU$R01#ID-7#T#2.3\rOBX#1\r";
    let (code, bytes) = ack(msg, Some(Rejection::NotStored), Charset::UTF_8);
    assert_eq!(code, Some(AckCode::AR));
    let t = text(&bytes);
    assert!(
        t.starts_with("MSH#$*!@#HUB#C#LAB#L1#20240501083000+0800##ACK$R01#"),
        "{t}"
    );
    assert!(t.contains("#T#2.3\nMSA#AR#ID-7#"), "{t}");
    assert!(
        t.ends_with("ERR#$$$207@Application internal error@HL70357\n"),
        "{t}"
    );
}

#[test]
fn v21_has_a_bare_message_type_and_v27_no_msa3() {
    let old = b"MSH|^~\\&|A|B|C|D|||ADT^A01|X1|P|2.1\r";
    let (_, bytes) = ack(old, None, Charset::UTF_8);
    assert!(
        text(&bytes).contains("||ACK|ACK1|P|2.1\n"),
        "{}",
        text(&bytes)
    );
    let new = b"MSH|^~\\&#|A|B|C|D|||ADT^A01|X1|P|2.8\r";
    let (_, bytes) = ack(new, Some(Rejection::TooLarge), Charset::UTF_8);
    let t = text(&bytes);
    assert!(t.starts_with("MSH|^~\\&#|C|D|A|B|"), "{t}");
    assert!(t.contains("\nMSA|AE|X1\nERR||"), "{t}");
}

#[test]
fn enhanced_mode_follows_msh15() {
    let with =
        |accept: &str| format!("MSH|^~\\&|A|B|C|D|||ORU^R01|X1|P|2.5|||{accept}|NE\r").into_bytes();
    let (code, bytes) = ack(&with("AL"), None, Charset::UTF_8);
    assert_eq!(code, Some(AckCode::CA));
    assert!(
        text(&bytes).contains("|P|2.5|||NE|NE\nMSA|CA|X1\n"),
        "{}",
        text(&bytes)
    );
    assert_eq!(
        ack(&with("AL"), Some(Rejection::NotStored), Charset::UTF_8).0,
        Some(AckCode::CR)
    );
    assert_eq!(
        ack(&with("AL"), Some(Rejection::TooLarge), Charset::UTF_8).0,
        Some(AckCode::CE)
    );
    assert_eq!(ack(&with("NE"), None, Charset::UTF_8).0, None);
    assert_eq!(ack(&with("ER"), None, Charset::UTF_8).0, None);
    assert_eq!(
        ack(&with("ER"), Some(Rejection::NotStored), Charset::UTF_8).0,
        Some(AckCode::CR)
    );
    assert_eq!(ack(&with("SU"), None, Charset::UTF_8).0, Some(AckCode::CA));
    assert_eq!(
        ack(&with("SU"), Some(Rejection::TooLarge), Charset::UTF_8).0,
        None
    );
}

#[test]
fn charset_is_echoed_and_raw_fields_stay_in_it() {
    let gb = Charset::from_hl7("GB 18030-2000").unwrap();
    let mut msg = b"MSH|^~\\&|HIS|".to_vec();
    msg.extend(gb.encode("县医院"));
    msg.extend(b"|HUB|C|20240501||ADT^A04^ADT_A01|M-9|P|2.4||||||GB 18030-2000\r");
    let (code, bytes) = ack(&msg, None, gb);
    assert_eq!(code, Some(AckCode::AA));
    assert!(gb.is_valid(&bytes));
    let decoded = gb.decode_lossy(&bytes);
    assert!(
        decoded.starts_with("MSH|^~\\&|HUB|C|HIS|县医院|20240501083000+0800||ACK^A04^ACK|ACK1|P|2.4||||||GB 18030-2000\r"),
        "{decoded}"
    );
}

#[test]
fn no_usable_msh_gets_a_default_ack() {
    let (code, bytes) = ack(b"PID|1||X\r", Some(Rejection::MissingMsh), Charset::UTF_8);
    assert_eq!(code, Some(AckCode::AE));
    let t = text(&bytes);
    assert!(
        t.starts_with("MSH|^~\\&|||||20240501083000+0800||ACK^^ACK|ACK1|P|2.5\nMSA|AE|"),
        "{t}"
    );
    assert!(
        t.contains("ERR||MSH^1|100^Segment sequence error^HL70357|E"),
        "{t}"
    );
}

#[test]
fn connector_text_never_breaks_the_structure() {
    let d = Delimiters {
        field: b'-',
        ..Delimiters::default()
    };
    assert_eq!(sanitize("MSH-10 a|b^c", &d), "MSH 10 a|b c");
}
