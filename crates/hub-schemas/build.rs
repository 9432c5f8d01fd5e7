//! Generates the Rust types of the canonical contract from `schemas/canonical/*.avsc`.
//!
//! The `.avsc` files are the single source of truth; the types are derived from them on every
//! build, so the two cannot drift. The generator accepts only the vocabulary documented in
//! `schemas/README.md` (primitive types, timestamp-millis, date, enums with a default, arrays,
//! nested records and `["null", T]` unions) and fails the build on anything else, rather than
//! guessing a mapping.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use serde_json::Value;

fn main() {
    let manifest = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets it"));
    let dir = manifest.join("../../schemas/canonical");
    println!("cargo:rerun-if-changed={}", dir.display());
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()))
        .map(|entry| entry.expect("readable directory entry").path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "avsc"))
        .collect();
    files.sort();

    let mut generator = Generator::default();
    let mut table = String::new();
    for path in &files {
        println!("cargo:rerun-if-changed={}", path.display());
        let stem = path
            .file_stem()
            .and_then(|s| s.to_str())
            .expect("utf-8 file name")
            .to_owned();
        let text = std::fs::read_to_string(path).expect("readable schema file");
        let json: Value = serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("{}: invalid JSON: {e}", path.display()));
        let rust_name = generator.named_type(&json, None, &stem);
        generator.top_level(&rust_name, &stem, path);
        let _ = writeln!(table, "    &{rust_name}::CONTRACT,");
    }

    let mut out = generator.code;
    let _ = writeln!(
        out,
        "/// Every canonical entity, in file-name order.\npub static CANONICAL: &[&Contract] = &[\n{table}];"
    );
    let dest = PathBuf::from(std::env::var("OUT_DIR").expect("cargo sets it")).join("canonical.rs");
    std::fs::write(&dest, out).expect("writable OUT_DIR");
}

#[derive(Default)]
struct Generator {
    code: String,
    /// Full Avro name -> (Rust name, the definition's JSON, for checking repeated definitions).
    defined: BTreeMap<String, (String, Value)>,
}

impl Generator {
    /// Emits a record or enum (once per full name) and returns its Rust name.
    fn named_type(&mut self, def: &Value, parent_ns: Option<&str>, context: &str) -> String {
        let name = str_field(def, "name", context);
        let ns = def.get("namespace").and_then(Value::as_str).or(parent_ns);
        let full = match ns {
            Some(ns) if !name.contains('.') => format!("{ns}.{name}"),
            _ => name.to_owned(),
        };
        let rust_name = name.rsplit('.').next().expect("non-empty name").to_owned();
        if let Some((existing, previous)) = self.defined.get(&full) {
            assert!(
                previous == def,
                "{context}: `{full}` is defined differently from an earlier file; shared types \
                 must be identical everywhere"
            );
            return existing.clone();
        }
        assert!(
            !self.defined.values().any(|(rust, _)| *rust == rust_name),
            "{context}: two different Avro types map to the Rust name `{rust_name}`"
        );
        self.defined
            .insert(full.clone(), (rust_name.clone(), def.clone()));
        let child_ns = full.rsplit_once('.').map(|(ns, _)| ns.to_owned());
        match str_field(def, "type", context) {
            "record" => self.record(def, &rust_name, &full, child_ns.as_deref(), context),
            "enum" => self.enumeration(def, &rust_name, &full, context),
            other => panic!("{context}: named type `{full}` has unsupported type `{other}`"),
        }
        rust_name
    }

    fn record(&mut self, def: &Value, rust: &str, full: &str, ns: Option<&str>, context: &str) {
        let fields = def
            .get("fields")
            .and_then(Value::as_array)
            .unwrap_or_else(|| panic!("{context}: record `{full}` has no fields"));
        let mut body = String::new();
        let mut pii = Vec::new();
        for field in fields {
            let fname = str_field(field, "name", context);
            let ctx = format!("{context}: {full}.{fname}");
            let doc = str_field(field, "doc", &ctx);
            let ty = self.field_type(&field["type"], ns, &ctx);
            if field.get("pii").and_then(Value::as_bool) == Some(true) {
                pii.push(fname.to_owned());
            }
            write_doc(&mut body, "    ", doc);
            if let Some(unit) = field.get("unit").and_then(Value::as_str) {
                let _ = writeln!(body, "    ///\n    /// Unit: {unit}.");
            }
            if pii.last().is_some_and(|p| p == fname) {
                let _ = writeln!(
                    body,
                    "    ///\n    /// Personal data: never log it or use it as a label."
                );
            }
            let _ = writeln!(body, "    pub {fname}: {ty},");
        }
        write_doc(&mut self.code, "", doc_of(def));
        let _ = writeln!(
            self.code,
            "///\n/// Generated from the Avro record `{full}`.\n\
             #[derive(Debug, Clone, PartialEq, Default, serde::Serialize, serde::Deserialize)]\n\
             #[serde(default)]\npub struct {rust} {{\n{body}}}\n"
        );
        let list: String = pii.iter().map(|p| format!("{p:?}, ")).collect();
        let _ = writeln!(
            self.code,
            "impl {rust} {{\n    /// Fields holding personal data (`\"pii\": true` in the schema).\n    \
             pub const PII_FIELDS: &'static [&'static str] = &[{list}];\n}}\n"
        );
    }

    fn enumeration(&mut self, def: &Value, rust: &str, full: &str, context: &str) {
        let symbols: Vec<&str> = def
            .get("symbols")
            .and_then(Value::as_array)
            .unwrap_or_else(|| panic!("{context}: enum `{full}` has no symbols"))
            .iter()
            .map(|s| s.as_str().expect("enum symbols are strings"))
            .collect();
        let default = def
            .get("default")
            .and_then(Value::as_str)
            .unwrap_or_else(|| panic!("{context}: enum `{full}` needs a default symbol to evolve"));
        assert!(
            symbols.contains(&default),
            "{context}: default `{default}` is not a symbol"
        );
        let mut body = String::new();
        for symbol in &symbols {
            if *symbol == default {
                body.push_str("    #[default]\n");
            }
            let _ = writeln!(
                body,
                "    /// Avro symbol `{symbol}`.\n    #[serde(rename = \"{symbol}\")]\n    {},",
                pascal_case(symbol)
            );
        }
        write_doc(&mut self.code, "", doc_of(def));
        let _ = writeln!(
            self.code,
            "///\n/// Generated from the Avro enum `{full}`.\n\
             #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, serde::Serialize, serde::Deserialize)]\n\
             pub enum {rust} {{\n{body}}}\n"
        );
        let arms: String = symbols
            .iter()
            .map(|s| format!("            Self::{} => \"{s}\",\n", pascal_case(s)))
            .collect();
        let _ = writeln!(
            self.code,
            "impl {rust} {{\n    /// The Avro symbol.\n    pub const fn symbol(self) -> &'static str {{\n        \
             match self {{\n{arms}        }}\n    }}\n}}\n"
        );
    }

    fn field_type(&mut self, ty: &Value, ns: Option<&str>, context: &str) -> String {
        match ty {
            Value::String(name) => match name.as_str() {
                "string" => "String".into(),
                "int" => "i32".into(),
                "long" => "i64".into(),
                "boolean" => "bool".into(),
                "double" => "f64".into(),
                reference => self.reference(reference, ns, context),
            },
            Value::Array(branches) => match branches.as_slice() {
                [Value::String(null), inner] if null == "null" => {
                    format!("Option<{}>", self.field_type(inner, ns, context))
                }
                _ => panic!("{context}: only [\"null\", T] unions are supported"),
            },
            Value::Object(map) => match map.get("type").and_then(Value::as_str) {
                Some("record" | "enum") => self.named_type(ty, ns, context),
                Some("array") => format!("Vec<{}>", self.field_type(&ty["items"], ns, context)),
                Some(base @ ("long" | "int")) => {
                    match map.get("logicalType").and_then(Value::as_str) {
                        Some("timestamp-millis") if base == "long" => "i64".into(),
                        Some("date") if base == "int" => "i32".into(),
                        None => self.field_type(&Value::String(base.into()), ns, context),
                        Some(other) => panic!("{context}: unsupported logical type `{other}`"),
                    }
                }
                Some(primitive @ ("string" | "boolean" | "double")) => {
                    assert!(
                        !map.contains_key("logicalType"),
                        "{context}: unsupported logical type"
                    );
                    self.field_type(&Value::String(primitive.into()), ns, context)
                }
                other => panic!("{context}: unsupported type {other:?}"),
            },
            other => panic!("{context}: unsupported type {other}"),
        }
    }

    fn reference(&self, name: &str, ns: Option<&str>, context: &str) -> String {
        let candidates = [
            name.to_owned(),
            ns.map(|ns| format!("{ns}.{name}")).unwrap_or_default(),
        ];
        candidates
            .iter()
            .find_map(|full| self.defined.get(full).map(|(rust, _)| rust.clone()))
            .unwrap_or_else(|| panic!("{context}: unknown or unsupported type `{name}`"))
    }

    fn top_level(&mut self, rust: &str, stem: &str, path: &Path) {
        let file = path
            .file_name()
            .and_then(|f| f.to_str())
            .expect("utf-8 file name");
        let _ = writeln!(
            self.code,
            "impl CanonicalEvent for {rust} {{\n    const CONTRACT: Contract = Contract {{\n        \
             entity: \"{stem}\",\n        topic: \"canonical.{stem}.v1\",\n        \
             subject: \"canonical.{stem}.v1-value\",\n        record: \"{rust}\",\n        \
             schema: include_str!(concat!(env!(\"CARGO_MANIFEST_DIR\"), \"/../../schemas/canonical/{file}\")),\n    }};\n\
             \n    fn event_id(&self) -> &str {{\n        &self.event_id\n    }}\n\
             \n    fn person_id(&self) -> &str {{\n        &self.person_id\n    }}\n}}\n"
        );
    }
}

fn str_field<'a>(value: &'a Value, key: &str, context: &str) -> &'a str {
    value
        .get(key)
        .and_then(Value::as_str)
        .unwrap_or_else(|| panic!("{context}: missing string `{key}`"))
}

fn doc_of(def: &Value) -> &str {
    def.get("doc").and_then(Value::as_str).unwrap_or("")
}

fn write_doc(out: &mut String, indent: &str, doc: &str) {
    for line in doc.lines() {
        let _ = writeln!(out, "{indent}#[doc = {:?}]", format!(" {line}"));
    }
}

fn pascal_case(symbol: &str) -> String {
    symbol
        .split('_')
        .filter(|part| !part.is_empty())
        .map(|part| {
            let lower = part.to_ascii_lowercase();
            let mut chars = lower.chars();
            chars
                .next()
                .map(|c| c.to_ascii_uppercase().to_string() + chars.as_str())
                .unwrap_or_default()
        })
        .collect()
}
