//! `Response`: the one frame answering each command (PROTOCOL §3.1).
//!
//! `type`, `cmd`, `success`, `message`, `data` and `error` are always
//! present; each payload field is written both inside `data` and at the top
//! level, as older clients read it. Payload values are serialized once
//! into raw JSON, so decimals stay exact.

use crate::error::ErrorCode;
use crate::time::{iso8601_ms, TimestampMs};
use serde::ser::SerializeMap;
use serde::{Serialize, Serializer};
use serde_json::value::RawValue;
use serde_json::Value;

const RESERVED: &[&str] = &[
    "type",
    "cmd",
    "request_id",
    "success",
    "message",
    "data",
    "error",
    "timestamp",
];

#[derive(Debug, Clone)]
pub struct Response {
    pub cmd: String,
    pub request_id: Option<Value>,
    pub success: bool,
    pub message: String,
    pub error: Option<ErrorCode>,
    payload: Vec<(String, Box<RawValue>)>,
}

impl Response {
    pub fn ok(cmd: &str, request_id: Option<Value>, message: impl Into<String>) -> Self {
        Response {
            cmd: cmd.to_string(),
            request_id,
            success: true,
            message: message.into(),
            error: None,
            payload: Vec::new(),
        }
    }

    pub fn fail(
        cmd: &str,
        request_id: Option<Value>,
        code: ErrorCode,
        message: impl Into<String>,
    ) -> Self {
        Response {
            success: false,
            error: Some(code),
            ..Response::ok(cmd, request_id, message)
        }
    }

    /// Adds a payload field (in `data` and at the top level).
    pub fn with(mut self, key: &str, value: &impl Serialize) -> Self {
        match serde_json::value::to_raw_value(value) {
            Ok(raw) => self.payload.push((key.to_string(), raw)),
            Err(e) => {
                self.success = false;
                self.error = Some(ErrorCode::Internal);
                self.message = format!("could not encode `{key}`: {e}");
            }
        }
        self
    }

    pub fn payload(&self, key: &str) -> Option<&RawValue> {
        self.payload
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_ref())
    }

    pub fn encode(&self, at_ms: TimestampMs) -> String {
        let framed = Framed { r: self, at_ms };
        serde_json::to_string(&framed).unwrap_or_else(|e| {
            format!(
                r#"{{"type":"response","success":false,"error":"internal_error","message":"{e}"}}"#
            )
        })
    }
}

/// A response frame as `encode` wrote it (a gateway's, from its engine).
#[derive(serde::Deserialize)]
struct Incoming {
    cmd: String,
    #[serde(default)]
    request_id: Option<Value>,
    success: bool,
    message: String,
    error: Option<String>,
    data: Payload,
}

/// `data`'s fields in their order, each kept as written.
struct Payload(Vec<(String, Box<RawValue>)>);

impl<'de> serde::Deserialize<'de> for Payload {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Fields;
        impl<'de> serde::de::Visitor<'de> for Fields {
            type Value = Payload;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("an object")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut m: A,
            ) -> Result<Payload, A::Error> {
                let mut fields = Vec::new();
                while let Some(entry) = m.next_entry::<String, Box<RawValue>>()? {
                    fields.push(entry);
                }
                Ok(Payload(fields))
            }
        }
        d.deserialize_map(Fields)
    }
}

impl Response {
    /// The response an encoded frame is, values exactly as written; `None`
    /// if it is not one.
    pub fn decode(frame: &str) -> Option<Response> {
        let r: Incoming = serde_json::from_str(frame).ok()?;
        let error = r
            .error
            .map(|code| code.parse::<ErrorCode>().unwrap_or(ErrorCode::Internal));
        Some(Response {
            cmd: r.cmd,
            request_id: r.request_id,
            success: r.success,
            message: r.message,
            error,
            payload: r.data.0,
        })
    }
}

struct Framed<'a> {
    r: &'a Response,
    at_ms: TimestampMs,
}

struct Data<'a>(&'a [(String, Box<RawValue>)]);

impl Serialize for Data<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(self.0.len()))?;
        for (k, v) in self.0 {
            m.serialize_entry(k, v)?;
        }
        m.end()
    }
}

impl Serialize for Framed<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let r = self.r;
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("type", "response")?;
        m.serialize_entry("cmd", &r.cmd)?;
        if let Some(id) = &r.request_id {
            m.serialize_entry("request_id", id)?;
        }
        m.serialize_entry("success", &r.success)?;
        m.serialize_entry("message", &r.message)?;
        m.serialize_entry("data", &Data(&r.payload))?;
        m.serialize_entry("error", &r.error.map(ErrorCode::as_str))?;
        m.serialize_entry("timestamp", &iso8601_ms(self.at_ms))?;
        for (k, v) in &r.payload {
            if !RESERVED.contains(&k.as_str()) {
                m.serialize_entry(k, v)?;
            }
        }
        m.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal::Decimal;
    use std::str::FromStr;

    #[test]
    fn payload_is_in_data_and_top_level_exactly() {
        #[derive(Serialize)]
        struct B {
            #[serde(with = "crate::num")]
            free: Decimal,
        }
        let r = Response::ok("get_balances", Some(Value::from("r-1")), "1 balance")
            .with(
                "balances",
                &vec![B {
                    free: Decimal::from_str("99479.123456789012345678").unwrap(),
                }],
            )
            .with("count", &1);
        let v: Value = serde_json::from_str(&r.encode(0)).unwrap();
        assert_eq!(v["type"], "response");
        assert_eq!(v["request_id"], "r-1");
        assert_eq!(v["success"], true);
        assert_eq!(v["error"], Value::Null);
        assert_eq!(v["count"], 1);
        assert_eq!(v["data"]["count"], 1);
        assert!(r.encode(0).contains("99479.123456789012345678"));
    }

    #[test]
    fn a_decoded_frame_encodes_as_it_was() {
        let r = Response::ok("get_balances", Some(Value::from(7)), "1 balance")
            .with("free", &serde_json::value::to_raw_value(&1).unwrap())
            .with(
                "exact",
                &RawValue::from_string("0.100000000000000000001".into()).unwrap(),
            )
            .with("list", &vec!["b", "a"]);
        let frame = r.encode(5);
        let back = Response::decode(&frame).expect("a response");
        assert_eq!(back.encode(5), frame);
        let failed = Response::fail("x", None, ErrorCode::EngineUnavailable, "down").encode(1);
        let back = Response::decode(&failed).expect("a response");
        assert_eq!(back.error, Some(ErrorCode::EngineUnavailable));
        assert_eq!(back.encode(1), failed);
        assert!(Response::decode(r#"{"type":"price"}"#).is_none());
    }

    #[test]
    fn failures_carry_the_code() {
        let r = Response::fail("cancel_order", None, ErrorCode::NotFound, "no order ORD-9");
        let v: Value = serde_json::from_str(&r.encode(0)).unwrap();
        assert_eq!(
            (v["success"].clone(), v["error"].clone()),
            (Value::Bool(false), Value::from("not_found"))
        );
        assert!(v.get("request_id").is_none());
        assert_eq!(v["data"], serde_json::json!({}));
    }
}
