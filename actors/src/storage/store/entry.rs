//! How a group commit's records are written to the `journal` table: one
//! row of JSON per commit, the only write the commit's fsync waits for.
//! Views are kept as they are stored in their tables (decimals as
//! strings), so every digit comes back on recovery, and are encoded once:
//! the same text goes into the journal and, later, into the tables.
//! Views and state values are JSON already and go into the row as they
//! are: the row is written by hand, not parsed and escaped again.

use super::{stored, Kind, Record, StateJson, StoreError};
use serde::Deserialize;
use serde_json::value::RawValue;
use std::fmt::Write;

/// One record in a row, externally tagged (`{"order": {…}}`): a raw view
/// cannot be read back through serde's buffering of internally tagged
/// enums.
#[derive(Deserialize)]
#[serde(rename_all = "snake_case")]
enum Entry {
    Order {
        view: Box<RawValue>,
        at_ms: i64,
    },
    Trade {
        view: Box<RawValue>,
        at_ms: i64,
    },
    Seq {
        seq: u64,
    },
    /// A `Put`, its value as JSON in the row.
    Set {
        kind: Kind,
        key: String,
        value: Box<RawValue>,
    },
    /// A `Put` as journals before 2026-12-06 wrote it: its value as a
    /// JSON string. Still read, for a journal an older version left.
    Put {
        kind: Kind,
        key: String,
        value: String,
    },
    Delete {
        kind: Kind,
        key: String,
    },
}

/// A record and, for an order or a trade, its view as stored.
pub(super) type Pending = (Record, Option<String>);

/// A batch as one journal row, and each record with its stored view.
pub(super) fn encode(batch: &[Record]) -> Result<(String, Vec<Pending>), StoreError> {
    let mut row = String::with_capacity(batch.len() * 512);
    let mut pending = Vec::with_capacity(batch.len());
    row.push('[');
    for (i, r) in batch.iter().enumerate() {
        if i > 0 {
            row.push(',');
        }
        let json = match r {
            Record::Order { view, at_ms } => {
                Some(view_entry(&mut row, "order", stored(view)?, *at_ms))
            }
            Record::Trade { view, at_ms } => {
                Some(view_entry(&mut row, "trade", stored(view)?, *at_ms))
            }
            Record::Seq(seq) => {
                // Writing to a String cannot fail.
                let _ = write!(row, r#"{{"seq":{{"seq":{seq}}}}}"#);
                None
            }
            Record::Put { kind, key, value } => {
                state_entry(&mut row, "set", *kind, key)?;
                row.push_str(r#","value":"#);
                row.push_str(value.get());
                row.push_str("}}");
                None
            }
            Record::Delete { kind, key } => {
                state_entry(&mut row, "delete", *kind, key)?;
                row.push_str("}}");
                None
            }
        };
        pending.push((r.clone(), json));
    }
    row.push(']');
    Ok((row, pending))
}

/// Opens `{"<tag>":{"kind":<kind>,"key":<key>`, for the caller to close.
fn state_entry(row: &mut String, tag: &str, kind: Kind, key: &str) -> Result<(), StoreError> {
    // Writing to a String cannot fail. A kind's name needs no escaping.
    let _ = write!(row, r#"{{"{tag}":{{"kind":"{}","key":"#, kind.as_str());
    row.push_str(&serde_json::to_string(key)?);
    Ok(())
}

/// Writes `{"<tag>":{"view":<json>,"at_ms":<at_ms>}}`; answers `json`.
fn view_entry(row: &mut String, tag: &str, json: String, at_ms: i64) -> String {
    // Writing to a String cannot fail.
    let _ = write!(row, r#"{{"{tag}":{{"view":{json},"at_ms":{at_ms}}}}}"#);
    json
}

/// The records of one journal row, each with its stored view.
pub(super) fn decode(row: &str) -> Result<Vec<Pending>, StoreError> {
    let entries: Vec<Entry> = serde_json::from_str(row)?;
    entries
        .into_iter()
        .map(|e| {
            Ok(match e {
                Entry::Order { view, at_ms } => (
                    Record::Order {
                        view: serde_json::from_str(view.get())?,
                        at_ms,
                    },
                    Some(view.get().to_string()),
                ),
                Entry::Trade { view, at_ms } => (
                    Record::Trade {
                        view: serde_json::from_str(view.get())?,
                        at_ms,
                    },
                    Some(view.get().to_string()),
                ),
                Entry::Seq { seq } => (Record::Seq(seq), None),
                Entry::Set { kind, key, value } => (
                    Record::Put {
                        kind,
                        key,
                        value: StateJson(value),
                    },
                    None,
                ),
                Entry::Put { kind, key, value } => (
                    Record::Put {
                        kind,
                        key,
                        value: StateJson(RawValue::from_string(value)?),
                    },
                    None,
                ),
                Entry::Delete { kind, key } => (Record::Delete { kind, key }, None),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::store::tests::{order, trade};
    use laicai_core::order::OrderStatus;

    #[derive(serde::Serialize)]
    struct Note<'a> {
        qty: &'a str,
        note: &'a str,
    }

    fn batch() -> Vec<Record> {
        let mut o = order("ORD-7", OrderStatus::PartiallyFilled, "0.25");
        o.avg_price = Some("52000.123456789012345678901".parse().unwrap());
        vec![
            Record::Order {
                view: o,
                at_ms: 1001,
            },
            Record::Trade {
                view: trade("TRD-7", "ORD-7"),
                at_ms: 1002,
            },
            Record::Seq(42),
            Record::put(
                Kind::PaperOrder,
                "paper/ORD-7",
                &Note {
                    qty: "0.25",
                    note: "a \"quote\" é",
                },
            )
            .unwrap(),
            Record::Delete {
                kind: Kind::Strategy,
                key: "str-1".into(),
            },
        ]
    }

    fn records(pending: Vec<Pending>) -> Vec<Record> {
        pending.into_iter().map(|(r, _)| r).collect()
    }

    #[test]
    fn a_row_reads_back_as_the_records_written_with_their_stored_views() {
        let batch = batch();
        let (row, pending) = encode(&batch).unwrap();
        let read = decode(&row).unwrap();
        assert_eq!(read, pending);
        assert_eq!(records(read), batch);
        // Every digit of the view, as a string.
        assert!(row.contains(r#""avg_price":"52000.123456789012345678901""#));
    }

    #[test]
    fn a_state_value_goes_into_the_row_as_json_not_as_an_escaped_string() {
        let (row, _) = encode(&batch()).unwrap();
        assert!(
            row.contains(r#""value":{"qty":"0.25","note":"a \"quote\" é"}"#),
            "{row}"
        );
        let key_only = encode(&[Record::put(Kind::Strategy, "a \"key\"\n", &1).unwrap()]).unwrap();
        assert_eq!(
            key_only.0,
            r#"[{"set":{"kind":"strategy","key":"a \"key\"\n","value":1}}]"#
        );
    }

    /// A row exactly as the version before raw state values wrote it
    /// (printed by `encode` at c38f0df): a journal left by an older engine
    /// is still applied on opening.
    #[test]
    fn a_row_an_older_version_wrote_reads_back_the_same() {
        let old = r#"[{"order":{"view":{"orderId":"ORD-7","client_order_id":"c-ORD-7","status":"partially_filled","filled":"0.25","remaining":"0.25","price":"52000.1","symbol":"BTC-USDT","side":"buy","order_type":"limit","strategy":"MM","strategy_id":"str-001","exchange":"paper","reason":null,"size":"0.5","avg_price":"52000.123456789012345678901","fees":"0","time_in_force":"gtc","post_only":false,"created_at":"2026-11-22T00:00:00Z","updated_at":"2026-11-22T00:00:00Z"},"at_ms":1001}},{"trade":{"view":{"trade_id":"TRD-7","order_id":"ORD-7","symbol":"BTC-USDT","price":"52000.1","amount":"0.25","side":"buy","fee":"0.000025","fee_asset":"BTC","liquidity":"maker","strategy":"MM","strategy_id":"str-001","exchange":"paper","time":"2026-11-22T00:00:01Z"},"at_ms":1002}},{"seq":{"seq":42}},{"put":{"kind":"paper_order","key":"paper/ORD-7","value":"{\"qty\":\"0.25\",\"note\":\"a \\\"quote\\\" é\"}"}},{"delete":{"kind":"strategy","key":"str-1"}}]"#;
        let (_, pending) = encode(&batch()).unwrap();
        assert_eq!(decode(old).unwrap(), pending);
    }

    #[test]
    fn every_kind_is_written_as_its_stored_name() {
        for kind in [
            Kind::Paper,
            Kind::PaperOrder,
            Kind::Risk,
            Kind::Strategy,
            Kind::Connection,
            Kind::Stream,
        ] {
            let (row, _) = encode(&[Record::Delete {
                kind,
                key: "k".into(),
            }])
            .unwrap();
            assert!(
                row.contains(&format!(r#""kind":"{}""#, kind.as_str())),
                "{row}"
            );
            assert_eq!(
                records(decode(&row).unwrap())[0],
                Record::Delete {
                    kind,
                    key: "k".into()
                }
            );
        }
    }
}
