//! Exact decimals on the wire: written as JSON numbers digit for digit,
//! read from JSON numbers or numeric strings without passing through
//! binary floating point arithmetic.
//!
//! Use with `#[serde(with = "crate::num")]` (or `num::opt` for options).

use rust_decimal::Decimal;
use serde::{de, Deserializer, Serialize, Serializer};
use std::fmt;
use std::str::FromStr;

/// Parses `"0.15"`, `"52000"`, `"-3.5"` or `"1e-7"` into an exact decimal.
pub fn parse_decimal(text: &str) -> Result<Decimal, String> {
    let t = text.trim();
    if t.is_empty() {
        return Err("empty number".into());
    }
    Decimal::from_str(t)
        .or_else(|_| Decimal::from_scientific(t))
        .map_err(|_| format!("`{t}` is not a decimal number in range"))
}

/// Converts a float that came from a JSON or TOML number back into the
/// decimal the writer meant: Rust prints the shortest text that round-trips
/// the float, which is the text the writer typed for up to 15 significant
/// digits.
pub fn decimal_from_f64(v: f64) -> Result<Decimal, String> {
    if !v.is_finite() {
        return Err("number is not finite".into());
    }
    parse_decimal(&format!("{v}"))
}

/// The JSON text of a decimal: shortest exact form, `-0` written as `0`.
pub fn to_json_text(d: &Decimal) -> String {
    d.normalize().to_string()
}

pub fn serialize<S: Serializer>(d: &Decimal, s: S) -> Result<S::Ok, S::Error> {
    match serde_json::value::RawValue::from_string(to_json_text(d)) {
        Ok(raw) => raw.serialize(s),
        Err(e) => Err(serde::ser::Error::custom(e)),
    }
}

pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Decimal, D::Error> {
    d.deserialize_any(DecimalVisitor)
}

struct DecimalVisitor;

impl de::Visitor<'_> for DecimalVisitor {
    type Value = Decimal;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a decimal number or a numeric string")
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Decimal, E> {
        Ok(Decimal::from(v))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Decimal, E> {
        Ok(Decimal::from(v))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Decimal, E> {
        decimal_from_f64(v).map_err(E::custom)
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Decimal, E> {
        parse_decimal(v).map_err(E::custom)
    }
}

/// `Option<Decimal>`: `null` or absent is `None`.
pub mod opt {
    use super::*;

    pub fn serialize<S: Serializer>(d: &Option<Decimal>, s: S) -> Result<S::Ok, S::Error> {
        match d {
            Some(v) => super::serialize(v, s),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Decimal>, D::Error> {
        d.deserialize_option(OptVisitor)
    }

    struct OptVisitor;

    impl<'de> de::Visitor<'de> for OptVisitor {
        type Value = Option<Decimal>;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("a decimal number, a numeric string or null")
        }
        fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
            super::deserialize(d).map(Some)
        }
    }
}

/// Decimals as JSON strings with their scale (`"0.150"`), for what is
/// stored: a JSON number read back goes through `f64` and keeps only ~15
/// significant digits, a string keeps every digit.
pub mod text {
    use super::*;

    pub fn serialize<S: Serializer>(d: &Decimal, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&d.to_string())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Decimal, D::Error> {
        super::deserialize(d)
    }

    pub mod opt {
        use super::*;

        pub fn serialize<S: Serializer>(d: &Option<Decimal>, s: S) -> Result<S::Ok, S::Error> {
            match d {
                Some(v) => s.serialize_str(&v.to_string()),
                None => s.serialize_none(),
            }
        }

        pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Decimal>, D::Error> {
            super::super::opt::deserialize(d)
        }
    }
}

/// Rewrites a flat JSON object's numbers as strings holding the same
/// digits, so a protocol view (whose decimals are written as JSON numbers)
/// can be stored and read back exactly: `{"price":52000.10}` →
/// `{"price":"52000.10"}`. Only the object's own values change; nested
/// objects and arrays are kept as they are.
///
/// Compact JSON, as `serde_json::to_string` writes it, is rewritten in
/// one pass over its text (every order and trade stored goes through
/// here, on the order's path); anything else goes through serde_json,
/// which also gives the error when it is not an object.
pub fn numbers_as_strings(object: &str) -> Result<String, serde_json::Error> {
    match compact_numbers_as_strings(object) {
        Some(out) => Ok(out),
        None => parsed_numbers_as_strings(object),
    }
}

/// The one-pass rewrite of a compact object; `None` at the first byte it
/// does not expect (whitespace, a malformed object), for serde_json to
/// read instead.
fn compact_numbers_as_strings(object: &str) -> Option<String> {
    let bytes = object.as_bytes();
    if bytes.first() != Some(&b'{') || bytes.last() != Some(&b'}') {
        return None;
    }
    let mut out = String::with_capacity(object.len() + 32);
    // Where the text not yet copied to `out` starts.
    let mut copied = 0;
    let mut i = 1;
    if bytes.get(i) == Some(&b'}') {
        return (bytes.len() == 2).then(|| object.to_string());
    }
    loop {
        // A key, then ':'.
        i = string_end(bytes, i)?;
        if bytes.get(i) != Some(&b':') {
            return None;
        }
        i += 1;
        let value = i;
        match *bytes.get(i)? {
            b'-' | b'0'..=b'9' => {
                i = value
                    + bytes[value..]
                        .iter()
                        .position(|b| matches!(b, b',' | b'}'))?;
                let number = &object[value..i];
                serde_json::from_str::<serde::de::IgnoredAny>(number).ok()?;
                out.push_str(&object[copied..value]);
                out.push('"');
                out.push_str(number);
                out.push('"');
                copied = i;
            }
            b'"' => i = string_end(bytes, i)?,
            b'{' | b'[' => i = nested_end(bytes, i)?,
            b't' | b'f' | b'n' => {
                let word = ["true", "false", "null"]
                    .into_iter()
                    .find(|w| object[i..].starts_with(w))?;
                i += word.len();
            }
            _ => return None,
        }
        match *bytes.get(i)? {
            b',' => i += 1,
            b'}' if i == bytes.len() - 1 => break,
            _ => return None,
        }
    }
    out.push_str(&object[copied..]);
    Some(out)
}

/// Where the string starting at `at` (a '"') ends: the index after its
/// closing quote.
fn string_end(bytes: &[u8], at: usize) -> Option<usize> {
    if bytes.get(at) != Some(&b'"') {
        return None;
    }
    let mut i = at + 1;
    loop {
        match *bytes.get(i)? {
            b'"' => return Some(i + 1),
            b'\\' => i += 2,
            _ => i += 1,
        }
    }
}

/// Where the object or array starting at `at` ends: the index after its
/// closing bracket (strings inside skipped whole).
fn nested_end(bytes: &[u8], at: usize) -> Option<usize> {
    let mut depth = 0usize;
    let mut i = at;
    loop {
        match *bytes.get(i)? {
            b'"' => {
                i = string_end(bytes, i)?;
                continue;
            }
            b'{' | b'[' => depth += 1,
            b'}' | b']' => {
                depth -= 1;
                if depth == 0 {
                    return Some(i + 1);
                }
            }
            _ => {}
        }
        i += 1;
    }
}

/// The same through serde_json: any JSON object, whitespace included
/// (its keys come out sorted).
fn parsed_numbers_as_strings(object: &str) -> Result<String, serde_json::Error> {
    let fields: std::collections::BTreeMap<String, Box<serde_json::value::RawValue>> =
        serde_json::from_str(object)?;
    let mut out = serde_json::Map::new();
    for (key, raw) in fields {
        let text = raw.get();
        let value = if text.starts_with(|c: char| c == '-' || c.is_ascii_digit()) {
            serde_json::Value::String(text.to_string())
        } else {
            serde_json::from_str(text)?
        };
        out.insert(key, value);
    }
    serde_json::to_string(&out)
}

/// A decimal that serializes as an exact JSON number on its own.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(transparent)]
pub struct Exact(#[serde(with = "crate::num")] pub Decimal);

/// A price level `[price, size]` as the protocol writes it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Level(
    #[serde(with = "crate::num")] pub Decimal,
    #[serde(with = "crate::num")] pub Decimal,
);

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Serialize, serde::Deserialize, PartialEq, Debug)]
    struct W {
        #[serde(with = "crate::num")]
        v: Decimal,
        #[serde(with = "crate::num::opt", default)]
        o: Option<Decimal>,
    }

    #[test]
    fn writes_exact_digits_as_json_numbers() {
        let w = W {
            v: Decimal::from_str("52000.123456789012345678").unwrap(),
            o: None,
        };
        assert_eq!(
            serde_json::to_string(&w).unwrap(),
            r#"{"v":52000.123456789012345678,"o":null}"#
        );
        let z = W {
            v: Decimal::from_str("-0.000").unwrap(),
            o: Some(Decimal::from_str("1.50").unwrap()),
        };
        assert_eq!(serde_json::to_string(&z).unwrap(), r#"{"v":0,"o":1.5}"#);
    }

    #[test]
    fn reads_numbers_and_strings_exactly() {
        let w: W = serde_json::from_str(r#"{"v":0.15,"o":"0.1"}"#).unwrap();
        assert_eq!(w.v, Decimal::from_str("0.15").unwrap());
        assert_eq!(w.o, Some(Decimal::from_str("0.1").unwrap()));
        let w: W = serde_json::from_str(r#"{"v":1e-7}"#).unwrap();
        assert_eq!(w.v, Decimal::from_str("0.0000001").unwrap());
        assert!(serde_json::from_str::<W>(r#"{"v":"abc"}"#).is_err());
        assert!(serde_json::from_str::<W>(r#"{"v":true}"#).is_err());
    }

    #[test]
    fn stored_text_keeps_every_digit_where_numbers_would_not() {
        let long = Decimal::from_str("52000.123456789012345678901").unwrap();
        let w = W { v: long, o: None };
        let plain = serde_json::to_string(&w).unwrap();
        let back: W = serde_json::from_str(&plain).unwrap();
        assert_ne!(back.v, long, "a JSON number goes through f64");
        let stored = numbers_as_strings(&plain).unwrap();
        assert_eq!(stored, r#"{"v":"52000.123456789012345678901","o":null}"#);
        let back: W = serde_json::from_str(&stored).unwrap();
        assert_eq!(back, w);

        #[derive(serde::Serialize, serde::Deserialize, PartialEq, Debug)]
        struct T(
            #[serde(with = "text")] Decimal,
            #[serde(with = "text::opt")] Option<Decimal>,
        );
        let t = T(Decimal::from_str("0.150").unwrap(), Some(long));
        let json = serde_json::to_string(&t).unwrap();
        assert_eq!(json, r#"["0.150","52000.123456789012345678901"]"#);
        let back: T = serde_json::from_str(&json).unwrap();
        assert_eq!(back.0.to_string(), "0.150");
        assert_eq!(back, t);
    }

    #[test]
    fn the_one_pass_rewrite_reads_as_serde_json_does() {
        let cases = [
            r#"{}"#,
            r#"{"price":52000.10,"size":-0.5,"e":1e-7,"n":0}"#,
            r#"{"id":"ORD-1","note":"a \"quoted\" 12:34, {x}","status":"open","qty":3}"#,
            r#"{"t":true,"f":false,"z":null,"p":-12.50}"#,
            r#"{"levels":[[52000.1,0.5],[51999.9,1]],"inner":{"a":1,"b":"}"},"last":7}"#,
            r#"{"k\\":"\\","v":1.0}"#,
        ];
        for case in cases {
            let fast = compact_numbers_as_strings(case).unwrap_or_else(|| panic!("{case}"));
            let slow = parsed_numbers_as_strings(case).unwrap();
            let read = |t: &str| serde_json::from_str::<serde_json::Value>(t).unwrap();
            assert_eq!(read(&fast), read(&slow), "{case} → {fast}");
        }
        // The object's own numbers become strings, every digit kept;
        // nested ones stay as they are.
        assert_eq!(
            numbers_as_strings(r#"{"a":[1.50],"b":2.50,"c":"3"}"#).unwrap(),
            r#"{"a":[1.50],"b":"2.50","c":"3"}"#
        );
        // Not compact, or not an object: serde_json reads it, or says why.
        assert_eq!(
            numbers_as_strings(r#"{ "b": 2.50, "a": 1 }"#).unwrap(),
            r#"{"a":"1","b":"2.50"}"#
        );
        for bad in [
            r#"[1,2]"#,
            r#"{"a":1"#,
            r#"{"a":}"#,
            r#"{"a":1,}"#,
            "",
            r#"{"a":1}}"#,
            r#"{"a":-}"#,
            r#"{"a":1.}"#,
            r#"{"a":1 2}"#,
        ] {
            assert!(compact_numbers_as_strings(bad).is_none(), "{bad}");
            assert!(numbers_as_strings(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn level_is_a_two_element_array() {
        let l = Level(Decimal::from(52000), Decimal::from_str("0.5").unwrap());
        assert_eq!(serde_json::to_string(&l).unwrap(), "[52000,0.5]");
    }
}
