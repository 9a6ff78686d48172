//! How a group commit's records are written to the `journal` table: one
//! row of JSON per commit, the only write the commit's fsync waits for.
//! Views are kept as they are stored in their tables (decimals as
//! strings), so every digit comes back on recovery.

use super::{stored, Kind, Record, StoreError};
use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize)]
#[serde(tag = "r", rename_all = "snake_case")]
enum Entry {
    Order {
        view: String,
        at_ms: i64,
    },
    Trade {
        view: String,
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

/// A batch as one journal row.
pub(super) fn encode(batch: &[Record]) -> Result<String, StoreError> {
    let entries = batch
        .iter()
        .map(|r| {
            Ok(match r {
                Record::Order { view, at_ms } => Entry::Order {
                    view: stored(view)?,
                    at_ms: *at_ms,
                },
                Record::Trade { view, at_ms } => Entry::Trade {
                    view: stored(view)?,
                    at_ms: *at_ms,
                },
                Record::Seq(seq) => Entry::Seq { seq: *seq },
                Record::Put { kind, key, value } => Entry::Put {
                    kind: *kind,
                    key: key.clone(),
                    value: value.clone(),
                },
                Record::Delete { kind, key } => Entry::Delete {
                    kind: *kind,
                    key: key.clone(),
                },
            })
        })
        .collect::<Result<Vec<Entry>, StoreError>>()?;
    Ok(serde_json::to_string(&entries)?)
}

/// The records of one journal row.
pub(super) fn decode(row: &str) -> Result<Vec<Record>, StoreError> {
    let entries: Vec<Entry> = serde_json::from_str(row)?;
    entries
        .into_iter()
        .map(|e| {
            Ok(match e {
                Entry::Order { view, at_ms } => Record::Order {
                    view: serde_json::from_str(&view)?,
                    at_ms,
                },
                Entry::Trade { view, at_ms } => Record::Trade {
                    view: serde_json::from_str(&view)?,
                    at_ms,
                },
                Entry::Seq { seq } => Record::Seq(seq),
                Entry::Put { kind, key, value } => Record::Put { kind, key, value },
                Entry::Delete { kind, key } => Record::Delete { kind, key },
            })
        })
        .collect()
}
