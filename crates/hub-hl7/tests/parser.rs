//! Parser edge cases: delimiters, empty fields, repetitions, components, line ends, escapes.

// Test helpers may panic: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used)]

use hub_hl7::message::Message;
use hub_hl7::{Charset, ParseError};

fn parse(text: &str) -> Message<'_> {
    Message::parse(text, Charset::UTF_8).unwrap()
}

#[test]
fn msh_fields_are_numbered_as_in_the_standard() {
    let m = parse("MSH|^~\\&|LIS|LAB|HUB|HUB|20240306091500||ORU^R01^ORU_R01|C123|P|2.5\r");
    let msh = m.msh();
    assert_eq!(msh.field(1).raw(), "|");
    assert_eq!(msh.field(2).raw(), "^~\\&");
    assert_eq!(msh.field(3).raw(), "LIS");
    assert_eq!(msh.get(9, 2).raw(), "R01");
    assert_eq!(msh.get(9, 3).raw(), "ORU_R01");
    assert_eq!(msh.field(10).raw(), "C123");
    assert_eq!(msh.field(99).raw(), "");
}

#[test]
fn empty_absent_and_null_fields() {
    let m = parse("MSH|^~\\&|A\rPID|1||||\"\"|| |x^^^^y\r");
    let pid = m.segment("PID").unwrap();
    assert!(pid.get(3, 1).is_empty());
    assert_eq!(pid.text(5, 1), None, "HL7 explicit null");
    assert_eq!(pid.text(7, 1), None, "blank");
    assert_eq!(pid.text(8, 1).as_deref(), Some("x"));
    assert_eq!(pid.text(8, 2), None);
    assert_eq!(pid.text(8, 5).as_deref(), Some("y"));
    assert_eq!(pid.text(8, 6), None);
    assert_eq!(pid.text(40, 1), None);
}

#[test]
fn repetitions_components_and_subcomponents() {
    let m = parse("MSH|^~\\&|A\rPID|1||A1^^^H&1.2.3&ISO^PI~B2^^^^ID~~C3\r");
    let f = m.segment("PID").unwrap().field(3);
    let reps: Vec<_> = f.reps().map(|r| r.comp(1).raw()).collect();
    assert_eq!(reps, ["A1", "B2", "", "C3"]);
    assert_eq!(f.first().comp(4).sub(1).raw(), "H");
    assert_eq!(f.first().comp(4).sub(2).raw(), "1.2.3");
    assert_eq!(f.first().comp(4).sub(3).raw(), "ISO");
    assert_eq!(f.first().comp(5).raw(), "PI");
    assert_eq!(
        f.text_joined(",").as_deref(),
        Some("A1^^^H&1.2.3&ISO^PI,B2^^^^ID,C3")
    );
}

#[test]
fn the_message_s_own_delimiters_are_used() {
    let m = parse("MSH#*!%@#A#B\rPID#1##X1*a@b*c!X2##N\\S\\%S%\r");
    let pid = m.segment("PID").unwrap();
    assert_eq!(pid.get(3, 1).raw(), "X1");
    assert_eq!(pid.get(3, 2).sub(2).raw(), "b");
    assert_eq!(pid.field(3).reps().count(), 2);
    // `\` is an ordinary character here and `%` the escape character.
    assert_eq!(pid.text(5, 1).as_deref(), Some("N\\S\\*"));
}

#[test]
fn line_ends_cr_lf_and_crlf() {
    for sep in ["\r", "\n", "\r\n", "\n\r"] {
        let text = ["MSH|^~\\&|A", "EVN|A01", "PID|1||X", ""].join(sep);
        let m = parse(&text);
        let ids: Vec<_> = m.segments().map(|s| s.id()).collect();
        assert_eq!(ids, ["MSH", "EVN", "PID"], "{sep:?}");
        assert_eq!(m.segment("PID").unwrap().get(3, 1).raw(), "X");
    }
}

#[test]
fn leading_whitespace_and_bom_are_skipped() {
    let m = parse("\u{feff}\r\nMSH|^~\\&|A\rPID|1");
    assert_eq!(m.segments().count(), 2);
}

#[test]
fn escapes_are_decoded_after_splitting() {
    let m = parse("MSH|^~\\&|A\rNTE|1||a\\F\\b\\S\\c\\T\\d\\R\\e\\E\\f^second\r");
    let nte = m.segment("NTE").unwrap();
    assert_eq!(nte.text(3, 1).as_deref(), Some("a|b^c&d~e\\f"));
    assert_eq!(nte.text(3, 2).as_deref(), Some("second"));
    assert_eq!(nte.get(3, 1).raw(), "a\\F\\b\\S\\c\\T\\d\\R\\e\\E\\f");
}

#[test]
fn gb18030_hex_escapes_decode_in_the_message_charset() {
    let gb = Charset::from_name("GB18030").unwrap();
    let m = Message::parse("MSH|^~\\&|A\rPID|1||||\\XD5C5\\三\r", gb).unwrap();
    assert_eq!(
        m.segment("PID").unwrap().text(5, 1).as_deref(),
        Some("张三")
    );
}

#[test]
fn malformed_input_is_an_error_not_a_panic() {
    let cases = [
        ("", ParseError::NoMsh),
        ("   ", ParseError::NoMsh),
        ("PID|1|2", ParseError::NoMsh),
        ("MSH|^~\\&|A\rEVN|1\rP|short", ParseError::BadSegmentId(3)),
        ("MSH|^~\\&|A\r张三|1", ParseError::BadSegmentId(2)),
        ("MSH|^~\\&|A\rPIDX|1", ParseError::BadSegmentId(2)),
        ("MSH|^^\\&|A", ParseError::BadDelimiters),
        ("MSHa^~\\&|A|B", ParseError::BadDelimiters),
        ("MSH||A|B|C|D", ParseError::BadDelimiters),
    ];
    for (text, expected) in cases {
        assert_eq!(
            Message::parse(text, Charset::UTF_8).unwrap_err(),
            expected,
            "{text:?}"
        );
    }
}
