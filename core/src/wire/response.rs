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
