//! How a group commit's records are written to the `journal` table: one
//! row of JSON per commit, the only write the commit's fsync waits for.
//! Views are kept as they are stored in their tables (decimals as
//! strings), so every digit comes back on recovery, and are encoded once:
//! the same text goes into the journal and, later, into the tables.

use super::{stored, Kind, Record, StoreError};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

/// Externally tagged (`{"order": {…}}`): a raw view cannot be read back
/// through serde's buffering of internally tagged enums.
#[derive(Serialize, Deserialize)]
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

fn raw(json: &str) -> Result<Box<RawValue>, StoreError> {
    Ok(RawValue::from_string(json.to_string())?)
}

/// A batch as one journal row, and each record with its stored view.
pub(super) fn encode(batch: &[Record]) -> Result<(String, Vec<Pending>), StoreError> {
    let mut entries = Vec::with_capacity(batch.len());
    let mut pending = Vec::with_capacity(batch.len());
    for r in batch {
        let (entry, json) = match r {
            Record::Order { view, at_ms } => {
                let json = stored(view)?;
                let entry = Entry::Order {
                    view: raw(&json)?,
                    at_ms: *at_ms,
                };
                (entry, Some(json))
            }
            Record::Trade { view, at_ms } => {
                let json = stored(view)?;
                let entry = Entry::Trade {
                    view: raw(&json)?,
                    at_ms: *at_ms,
                };
                (entry, Some(json))
            }
            Record::Seq(seq) => (Entry::Seq { seq: *seq }, None),
            Record::Put { kind, key, value } => (
                Entry::Put {
                    kind: *kind,
                    key: key.clone(),
                    value: value.clone(),
                },
                None,
            ),
            Record::Delete { kind, key } => (
                Entry::Delete {
                    kind: *kind,
                    key: key.clone(),
                },
                None,
            ),
        };
        entries.push(entry);
        pending.push((r.clone(), json));
    }
    Ok((serde_json::to_string(&entries)?, pending))
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
                Entry::Put { kind, key, value } => (Record::Put { kind, key, value }, None),
                Entry::Delete { kind, key } => (Record::Delete { kind, key }, None),
            })
        })
        .collect()
}
