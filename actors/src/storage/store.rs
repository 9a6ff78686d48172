//! `Store`: the SQLite database under the state directory — schema
//! migrations, the journal of orders (every lifecycle transition) and
//! trades, and reads of that history. Plain rusqlite, no actix: the
//! `StorageActor` owns one and calls it from its own thread.

use laicai_core::venue::OrderFilter;
use laicai_core::wire::events::{OrderView, TradeView};
use rusqlite::{params, Connection, OpenFlags, OptionalExtension};
use serde_json::value::RawValue;
use std::path::{Path, PathBuf};

/// Each entry moves the schema from version `i` to `i + 1`. Append only:
/// a released migration is never edited.
const MIGRATIONS: &[&str] = &[
    // 1: the order and trade journal, and small engine state.
    "CREATE TABLE meta (
         key   TEXT PRIMARY KEY,
         value TEXT NOT NULL
     );
     CREATE TABLE orders (
         exchange   TEXT NOT NULL,
         order_id   TEXT NOT NULL,
         symbol     TEXT NOT NULL,
         status     TEXT NOT NULL,
         strategy   TEXT,
         created_ms INTEGER NOT NULL,
         updated_ms INTEGER NOT NULL,
         view       TEXT NOT NULL,
         PRIMARY KEY (exchange, order_id)
     );
     CREATE INDEX orders_by_time ON orders (created_ms);
     CREATE TABLE order_events (
         id       INTEGER PRIMARY KEY AUTOINCREMENT,
         exchange TEXT NOT NULL,
         order_id TEXT NOT NULL,
         status   TEXT NOT NULL,
         at_ms    INTEGER NOT NULL,
         view     TEXT NOT NULL
     );
     CREATE INDEX order_events_by_order ON order_events (exchange, order_id);
     CREATE TABLE trades (
         exchange TEXT NOT NULL,
         trade_id TEXT NOT NULL,
         order_id TEXT NOT NULL,
         symbol   TEXT NOT NULL,
         strategy TEXT,
         at_ms    INTEGER NOT NULL,
         view     TEXT NOT NULL,
         PRIMARY KEY (exchange, trade_id)
     );
     CREATE INDEX trades_by_time ON trades (at_ms);",
    // 2: the engine's own state by kind and key (the paper account, the
    // risk state, strategy instances, connections).
    "CREATE TABLE state (
         kind  TEXT NOT NULL,
         key   TEXT NOT NULL,
         value TEXT NOT NULL,
         PRIMARY KEY (kind, key)
     );",
    // 3: a trade is identified by its venue, its order and its id: two
    // accounts (or a connection deleted and another under its name) may
    // report the same trade id for different trades.
    "CREATE TABLE trades_v3 (
         exchange TEXT NOT NULL,
         order_id TEXT NOT NULL,
         trade_id TEXT NOT NULL,
         symbol   TEXT NOT NULL,
         strategy TEXT,
         at_ms    INTEGER NOT NULL,
         view     TEXT NOT NULL,
         PRIMARY KEY (exchange, order_id, trade_id)
     );
     INSERT INTO trades_v3 (exchange, order_id, trade_id, symbol, strategy, at_ms, view)
         SELECT exchange, order_id, trade_id, symbol, strategy, at_ms, view FROM trades;
     DROP TABLE trades;
     ALTER TABLE trades_v3 RENAME TO trades;
     CREATE INDEX trades_by_time ON trades (at_ms);",
    // 4: fewer pages per commit. Tables keyed by text keep their rows in
    // their key's b-tree (WITHOUT ROWID): a write touches one b-tree where
    // it touched the table and the key's index. order_events drops
    // AUTOINCREMENT and the sqlite_sequence row each insert rewrote.
    // Orders and trades keep their insertion order (for ties in time) in
    // `no`, carried over from the rowid. And the `journal`: a group
    // commit appends one row of its records and waits for the disk for
    // that alone; the tables above are brought up to date from it behind
    // (and the rows deleted in the same transaction), and on opening.
    "CREATE TABLE meta_v4 (
         key   TEXT PRIMARY KEY,
         value TEXT NOT NULL
     ) WITHOUT ROWID;
     INSERT INTO meta_v4 (key, value) SELECT key, value FROM meta;
     DROP TABLE meta;
     ALTER TABLE meta_v4 RENAME TO meta;
     CREATE TABLE state_v4 (
         kind  TEXT NOT NULL,
         key   TEXT NOT NULL,
         value TEXT NOT NULL,
         PRIMARY KEY (kind, key)
     ) WITHOUT ROWID;
     INSERT INTO state_v4 (kind, key, value) SELECT kind, key, value FROM state;
     DROP TABLE state;
     ALTER TABLE state_v4 RENAME TO state;
     CREATE TABLE orders_v4 (
         exchange   TEXT NOT NULL,
         order_id   TEXT NOT NULL,
         symbol     TEXT NOT NULL,
         status     TEXT NOT NULL,
         strategy   TEXT,
         created_ms INTEGER NOT NULL,
         updated_ms INTEGER NOT NULL,
         no         INTEGER NOT NULL,
         view       TEXT NOT NULL,
         PRIMARY KEY (exchange, order_id)
     ) WITHOUT ROWID;
     INSERT INTO orders_v4 (exchange, order_id, symbol, status, strategy, created_ms, updated_ms, no, view)
         SELECT exchange, order_id, symbol, status, strategy, created_ms, updated_ms, rowid, view FROM orders;
     DROP TABLE orders;
     ALTER TABLE orders_v4 RENAME TO orders;
     CREATE INDEX orders_by_time ON orders (created_ms, no);
     CREATE TABLE order_events_v4 (
         id       INTEGER PRIMARY KEY,
         exchange TEXT NOT NULL,
         order_id TEXT NOT NULL,
         status   TEXT NOT NULL,
         at_ms    INTEGER NOT NULL,
         view     TEXT NOT NULL
     );
     INSERT INTO order_events_v4 (id, exchange, order_id, status, at_ms, view)
         SELECT id, exchange, order_id, status, at_ms, view FROM order_events;
     DROP TABLE order_events;
     ALTER TABLE order_events_v4 RENAME TO order_events;
     CREATE INDEX order_events_by_order ON order_events (exchange, order_id);
     CREATE TABLE trades_v4 (
         exchange TEXT NOT NULL,
         order_id TEXT NOT NULL,
         trade_id TEXT NOT NULL,
         symbol   TEXT NOT NULL,
         strategy TEXT,
         at_ms    INTEGER NOT NULL,
         no       INTEGER NOT NULL,
         view     TEXT NOT NULL,
         PRIMARY KEY (exchange, order_id, trade_id)
     ) WITHOUT ROWID;
     INSERT INTO trades_v4 (exchange, order_id, trade_id, symbol, strategy, at_ms, no, view)
         SELECT exchange, order_id, trade_id, symbol, strategy, at_ms, rowid, view FROM trades;
     DROP TABLE trades;
     ALTER TABLE trades_v4 RENAME TO trades;
     CREATE INDEX trades_by_time ON trades (at_ms, no);
     CREATE TABLE journal (
         id      INTEGER PRIMARY KEY,
         records TEXT NOT NULL
     );",
];

/// The schema version this build writes.
pub const SCHEMA_VERSION: u32 = MIGRATIONS.len() as u32;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("cannot create the state directory {dir}: {source}")]
    Dir {
        dir: PathBuf,
        source: std::io::Error,
    },
    #[error("{path} is not a laicai database or is corrupt ({detail}); move it aside to start empty, or restore a backup")]
    Corrupt { path: PathBuf, detail: String },
    #[error("{path} has schema version {found}, newer than this laicai understands ({supported}); run the newer laicai, or restore a backup")]
    Newer {
        path: PathBuf,
        found: u32,
        supported: u32,
    },
    #[error("cannot open {path}: {detail}")]
    Open { path: PathBuf, detail: String },
    #[error("database error: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("a stored record is unreadable: {0}")]
    Record(#[from] serde_json::Error),
    #[error(
        "{found} of {expected} journal rows were left to apply: another connection applied them"
    )]
    AppliedElsewhere { expected: usize, found: usize },
}

/// One thing to make durable.
#[derive(Clone, Debug, PartialEq)]
pub enum Record {
    /// An order's new state (each transition is kept).
    Order {
        view: OrderView,
        at_ms: i64,
    },
    Trade {
        view: TradeView,
        at_ms: i64,
    },
    /// The highest `seq` handed out.
    Seq(u64),
    /// A piece of engine state (JSON) under a kind and a key; the last
    /// write of a key in a batch wins.
    Put {
        kind: Kind,
        key: String,
        value: StateJson,
    },
    Delete {
        kind: Kind,
        key: String,
    },
}

/// What a piece of stored state is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// An embedded venue's account (`PaperAccount`), by venue name.
    Paper,
    /// One open order of an embedded venue (`OpenOrder`), by
    /// `venue/order_id`; deleted when it ends.
    PaperOrder,
    /// The risk manager's state (kill switch, daily loss).
    Risk,
    /// A strategy instance, by id.
    Strategy,
    /// An exchange connection, by id; its secret encrypted.
    Connection,
    /// The event stream: `retained_upto`, the last replayable `seq`, left
    /// by a clean stop for the next start.
    Stream,
}

impl Record {
    /// A `Put` of `value` as JSON.
    pub fn put<T: serde::Serialize>(
        kind: Kind,
        key: &str,
        value: &T,
    ) -> Result<Record, StoreError> {
        Ok(Record::Put {
            kind,
            key: key.to_string(),
            value: StateJson::of(value)?,
        })
    }
}

/// A piece of engine state as JSON text. Made only by serializing a value
/// (or by reading a journal row), so it is valid JSON and the journal can
/// carry it as it is, neither escaped nor parsed again.
#[derive(Clone, Debug)]
pub struct StateJson(Box<RawValue>);

impl StateJson {
    pub fn of<T: serde::Serialize + ?Sized>(value: &T) -> Result<StateJson, serde_json::Error> {
        Ok(StateJson(serde_json::value::to_raw_value(value)?))
    }

    pub fn get(&self) -> &str {
        self.0.get()
    }
}

impl PartialEq for StateJson {
    fn eq(&self, other: &StateJson) -> bool {
        self.get() == other.get()
    }
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Paper => "paper",
            Kind::PaperOrder => "paper_order",
            Kind::Risk => "risk",
            Kind::Strategy => "strategy",
            Kind::Connection => "connection",
            Kind::Stream => "stream",
        }
    }
}

#[derive(Debug)]
pub struct Store {
    conn: Connection,
    path: PathBuf,
    /// The `no` the next order or trade inserted gets: insertion order.
    next_no: i64,
    /// Records durable in the journal, not yet in their tables.
    unapplied: Vec<entry::Pending>,
    /// The journal rows holding `unapplied`, oldest first: each row's id
    /// and how many of its records.
    rows: std::collections::VecDeque<(i64, usize)>,
    /// Records refused as conflicting with stored ones, since the last
    /// `take_conflicts`.
    conflicts: Vec<String>,
    /// `synchronous` was lowered for an application and not yet put back.
    unsynced: bool,
    /// Whether commits wait for the disk (`set_fsync`).
    fsync: bool,
}

impl Store {
    /// Opens (creating it and its directory if needed) and migrates the
    /// database. A file that is not SQLite, or a schema from a newer
    /// laicai, is an error: never a silently empty state.
    pub fn open(path: &Path) -> Result<Store, StoreError> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|source| StoreError::Dir {
                dir: dir.to_path_buf(),
                source,
            })?;
        }
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn = Connection::open_with_flags(path, flags).map_err(|e| StoreError::Open {
            path: path.to_path_buf(),
            detail: e.to_string(),
        })?;
        let mut store = Store {
            conn,
            path: path.to_path_buf(),
            next_no: 0,
            unapplied: Vec::new(),
            rows: std::collections::VecDeque::new(),
            conflicts: Vec::new(),
            fsync: true,
            unsynced: false,
        };
        store.prepare()?;
        store.next_no = 1 + store.conn.query_row(
            "SELECT max(coalesce((SELECT max(no) FROM orders), 0), coalesce((SELECT max(no) FROM trades), 0))",
            [],
            |r| r.get::<_, i64>(0),
        )?;
        store.recover()?;
        Ok(store)
    }

    fn corrupt(&self, e: rusqlite::Error) -> StoreError {
        match e {
            rusqlite::Error::SqliteFailure(f, _)
                if matches!(
                    f.code,
                    rusqlite::ErrorCode::NotADatabase | rusqlite::ErrorCode::DatabaseCorrupt
                ) =>
            {
                StoreError::Corrupt {
                    path: self.path.clone(),
                    detail: f.to_string(),
                }
            }
            rusqlite::Error::SqliteFailure(f, _)
                if matches!(
                    f.code,
                    rusqlite::ErrorCode::ReadOnly
                        | rusqlite::ErrorCode::CannotOpen
                        | rusqlite::ErrorCode::PermissionDenied
                ) =>
            {
                StoreError::Open {
                    path: self.path.clone(),
                    detail: f.to_string(),
                }
            }
            other => StoreError::Sqlite(other),
        }
    }

    /// WAL, synchronous commits, the integrity check and the migrations.
    fn prepare(&mut self) -> Result<(), StoreError> {
        let version: u32 = self
            .conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .map_err(|e| self.corrupt(e))?;
        if version > SCHEMA_VERSION {
            return Err(StoreError::Newer {
                path: self.path.clone(),
                found: version,
                supported: SCHEMA_VERSION,
            });
        }
        let mode: String = self
            .conn
            .query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))
            .map_err(|e| self.corrupt(e))?;
        if !mode.eq_ignore_ascii_case("wal") {
            tracing::warn!(%mode, "SQLite did not switch to WAL");
        }
        // FULL: a committed batch survives power loss, not only a crash.
        self.conn
            .execute_batch("PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON;")
            .map_err(|e| self.corrupt(e))?;
        let check: String = self
            .conn
            .query_row("PRAGMA quick_check", [], |r| r.get(0))
            .map_err(|e| self.corrupt(e))?;
        if check != "ok" {
            return Err(StoreError::Corrupt {
                path: self.path.clone(),
                detail: check,
            });
        }
        for (i, sql) in MIGRATIONS.iter().enumerate().skip(version as usize) {
            let tx = self
                .conn
                .transaction()
                .map_err(|e| Self::open_error(&self.path, e))?;
            tx.execute_batch(sql)?;
            tx.pragma_update(None, "user_version", (i + 1) as u32)?;
            tx.commit()?;
            tracing::info!(path = %self.path.display(), version = i + 1, "database migrated");
        }
        Ok(())
    }

    fn open_error(path: &Path, e: rusqlite::Error) -> StoreError {
        StoreError::Open {
            path: path.to_path_buf(),
            detail: e.to_string(),
        }
    }

    /// Whether each commit waits for the disk (`synchronous = FULL`, the
    /// default) or only for the OS (`NORMAL`: a commit survives the process
    /// dying, not the machine losing power).
    pub fn set_fsync(&mut self, on: bool) -> Result<(), StoreError> {
        let mode = if on { "FULL" } else { "NORMAL" };
        self.conn.pragma_update(None, "synchronous", mode)?;
        self.fsync = on;
        Ok(())
    }

    /// Whether each commit waits for the disk.
    pub fn fsync(&self) -> bool {
        self.fsync
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// A second connection to the same database, for the checkpointer,
    /// with this one's durability.
    pub fn checkpoint_connection(&self) -> Result<Connection, StoreError> {
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn = Connection::open_with_flags(&self.path, flags)
            .map_err(|e| Self::open_error(&self.path, e))?;
        let sync: i64 = self
            .conn
            .query_row("PRAGMA synchronous", [], |r| r.get(0))?;
        conn.pragma_update(None, "synchronous", sync)?;
        Ok(conn)
    }

    /// Commits stop checkpointing the WAL themselves (SQLite does once
    /// the log passes 1000 pages): a checkpointer does it beside them.
    pub fn stop_auto_checkpoint(&mut self) -> Result<(), StoreError> {
        self.conn.pragma_update(None, "wal_autocheckpoint", 0)?;
        Ok(())
    }

    /// A PASSIVE checkpoint on this connection: whether it copied the
    /// whole log (nobody else was checkpointing, no reader held it back).
    pub fn checkpoint(&self) -> Result<bool, StoreError> {
        let (busy, log, copied) =
            self.conn
                .query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |r| {
                    Ok((
                        r.get::<_, i64>(0)?,
                        r.get::<_, i64>(1)?,
                        r.get::<_, i64>(2)?,
                    ))
                })?;
        Ok(busy == 0 && log == copied)
    }

    pub fn schema_version(&self) -> Result<u32, StoreError> {
        Ok(self
            .conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))?)
    }

    /// Brings the tables up to date with the journal rows a stop left.
    fn recover(&mut self) -> Result<(), StoreError> {
        let rows: Vec<(i64, String)> = {
            let mut stmt = self
                .conn
                .prepare("SELECT id, records FROM journal ORDER BY id")?;
            let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
            rows.collect::<Result<_, _>>()?
        };
        for (id, row) in &rows {
            let records = entry::decode(row)?;
            self.rows.push_back((*id, records.len()));
            self.unapplied.extend(records);
        }
        if !rows.is_empty() {
            tracing::info!(
                rows = rows.len(),
                records = self.unapplied.len(),
                "applying the journal left by the last run"
            );
        }
        self.apply()
    }

    /// Makes a batch durable: one journal row, one transaction, fsynced
    /// (with `fsync` on) when it returns. Its tables are brought up to
    /// date by `apply`.
    pub fn append(&mut self, batch: &[Record]) -> Result<(), StoreError> {
        if batch.is_empty() {
            return Ok(());
        }
        let (row, pending) = entry::encode(batch)?;
        self.synced()?;
        self.conn
            .prepare_cached("INSERT INTO journal (records) VALUES (?1)")?
            .execute(params![row])?;
        self.rows
            .push_back((self.conn.last_insert_rowid(), pending.len()));
        self.unapplied.extend(pending);
        Ok(())
    }

    /// Records appended and not yet in their tables.
    pub fn unapplied(&self) -> usize {
        self.unapplied.len()
    }

    /// Writes the appended records to their tables and deletes their
    /// journal rows, in one transaction. Reads see what was applied.
    pub fn apply(&mut self) -> Result<(), StoreError> {
        self.apply_some(usize::MAX)
    }

    /// As `apply`, for the oldest journal rows only: whole rows, as many
    /// as hold at most `records` records (at least one row). A commit
    /// queued behind waits for no more than that.
    pub fn apply_some(&mut self, records: usize) -> Result<(), StoreError> {
        if self.unapplied.is_empty() {
            return Ok(());
        }
        let (mut rows, mut taken) = (0, 0);
        for &(_, n) in &self.rows {
            if rows > 0 && taken + n > records {
                break;
            }
            rows += 1;
            taken += n;
        }
        let upto = match rows {
            0 => 0,
            _ => self.rows[rows - 1].0,
        };
        if rows == 0 {
            // Records with no row (none are appended so): all of them.
            taken = self.unapplied.len();
        }
        let batch: Vec<entry::Pending> = self.unapplied.drain(..taken).collect();
        let applied = self.without_fsync(|store| store.apply_batch(&batch, upto, rows));
        match applied {
            Ok(()) => {
                self.rows.drain(..rows);
                Ok(())
            }
            Err(StoreError::AppliedElsewhere { expected, found }) => {
                tracing::warn!(expected, found, "another connection brought the tables up to date with this journal; not applied twice");
                self.rows.drain(..rows);
                Ok(())
            }
            Err(e) => {
                self.unapplied.splice(0..0, batch);
                Err(e)
            }
        }
    }

    /// Runs `write` with its commit not waiting for the disk. For bringing
    /// the tables up to date: what it writes is already durable in the
    /// journal, and the log is written in order, so a power loss can only
    /// take this commit together with everything after it, and never a
    /// commit that did wait (its fsync covers all before it); the journal
    /// rows it deleted are then still there, and `recover` applies them
    /// again. Spares each application one fsync, which the order
    /// committed behind it would otherwise wait for.
    fn without_fsync<T>(
        &mut self,
        write: impl FnOnce(&mut Self) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        if !self.fsync {
            return write(self);
        }
        self.unsynced = true;
        self.conn.pragma_update(None, "synchronous", "NORMAL")?;
        let written = write(self);
        self.synced()?;
        written
    }

    /// Puts the fsync back if `without_fsync` could not: nothing is
    /// appended without it.
    fn synced(&mut self) -> Result<(), StoreError> {
        if self.unsynced {
            self.conn.pragma_update(None, "synchronous", "FULL")?;
            self.unsynced = false;
        }
        Ok(())
    }

    /// Appends and applies a batch: durable and in its tables on return.
    pub fn write(&mut self, batch: &[Record]) -> Result<(), StoreError> {
        self.append(batch)?;
        self.apply()
    }

    /// Applies `batch`, the records of the journal rows up to `upto`
    /// (`rows` of them), and deletes those rows.
    fn apply_batch(
        &mut self,
        batch: &[entry::Pending],
        upto: i64,
        rows: usize,
    ) -> Result<(), StoreError> {
        // Only the last state of a key in the batch is written; an order's
        // row takes its last state too (every state goes to order_events),
        // numbered by its first, so ties in time keep insertion order.
        let mut last_put = std::collections::HashMap::new();
        let base = self.next_no;
        let mut order_at: std::collections::HashMap<(&str, &str), (usize, i64, i64)> =
            std::collections::HashMap::new();
        for (i, (record, _)) in batch.iter().enumerate() {
            match record {
                Record::Put { kind, key, .. } | Record::Delete { kind, key } => {
                    last_put.insert((*kind, key.as_str()), i);
                }
                Record::Order { view, at_ms } => {
                    order_at
                        .entry((view.exchange.as_str(), view.order_id.as_str()))
                        .and_modify(|(last, _, _)| *last = i)
                        .or_insert((i, base + 1 + i as i64, *at_ms));
                }
                _ => {}
            }
        }
        let mut conflicts = Vec::new();
        let tx = self.conn.transaction()?;
        for (i, (record, json)) in batch.iter().enumerate() {
            match record {
                Record::Put { kind, key, .. } | Record::Delete { kind, key }
                    if last_put.get(&(*kind, key.as_str())) != Some(&i) =>
                {
                    // A later record of the batch supersedes it.
                }
                Record::Put { kind, key, value } => {
                    tx.prepare_cached(
                        "INSERT INTO state (kind, key, value) VALUES (?1, ?2, ?3)
                         ON CONFLICT (kind, key) DO UPDATE SET value = excluded.value",
                    )?
                    .execute(params![kind.as_str(), key, value.get()])?;
                }
                Record::Delete { kind, key } => {
                    tx.prepare_cached("DELETE FROM state WHERE kind = ?1 AND key = ?2")?
                        .execute(params![kind.as_str(), key])?;
                }
                Record::Order { view, at_ms } => {
                    let json: std::borrow::Cow<'_, str> = match json {
                        Some(json) => json.into(),
                        None => stored(view)?.into(),
                    };
                    let key = (view.exchange.as_str(), view.order_id.as_str());
                    if let Some(&(_, no, created_ms)) =
                        order_at.get(&key).filter(|(last, _, _)| *last == i)
                    {
                        tx.prepare_cached(
                        "INSERT INTO orders (exchange, order_id, symbol, status, strategy, created_ms, updated_ms, no, view)
                         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)
                         ON CONFLICT (exchange, order_id) DO UPDATE
                         SET status = excluded.status, updated_ms = excluded.updated_ms, view = excluded.view")?
                        .execute(params![view.exchange, view.order_id, view.symbol, view.status.as_str(), view.strategy_id, created_ms, at_ms, no, json])?;
                    }
                    tx.prepare_cached(
                        "INSERT INTO order_events (exchange, order_id, status, at_ms, view) VALUES (?1, ?2, ?3, ?4, ?5)")?
                        .execute(params![view.exchange, view.order_id, view.status.as_str(), at_ms, json])?;
                }
                Record::Trade { view, at_ms } => {
                    let json: std::borrow::Cow<'_, str> = match json {
                        Some(json) => json.into(),
                        None => stored(view)?.into(),
                    };
                    let no = base + 1 + i as i64;
                    conflicts.extend(insert_trade(&tx, view, *at_ms, no, &json)?);
                }
                Record::Seq(seq) => {
                    tx.prepare_cached(
                        "INSERT INTO meta (key, value) VALUES ('seq', ?1)
                         ON CONFLICT (key) DO UPDATE SET value = excluded.value
                         WHERE CAST(excluded.value AS INTEGER) > CAST(meta.value AS INTEGER)",
                    )?
                    .execute(params![seq.to_string()])?;
                }
            }
        }
        // The rows applied go with the update; if another connection
        // (a second laicai opening the same file) applied them first, this
        // is rolled back rather than written twice.
        let deleted = tx
            .prepare_cached("DELETE FROM journal WHERE id <= ?1")?
            .execute(params![upto])?;
        if deleted != rows {
            return Err(StoreError::AppliedElsewhere {
                expected: rows,
                found: deleted,
            });
        }
        tx.commit()?;
        self.next_no = base + batch.len() as i64;
        self.conflicts.extend(conflicts);
        Ok(())
    }

    /// What `write` refused as conflicting with a stored record since the
    /// last call: each said in a sentence.
    pub fn take_conflicts(&mut self) -> Vec<String> {
        std::mem::take(&mut self.conflicts)
    }

    /// Every stored value of a kind whose key starts with `prefix`, by key.
    pub fn state(&self, kind: Kind, prefix: &str) -> Result<Vec<(String, String)>, StoreError> {
        let mut stmt = self.conn.prepare(
            "SELECT key, value FROM state WHERE kind = ?1 AND substr(key, 1, length(?2)) = ?2
             ORDER BY key",
        )?;
        let rows = stmt.query_map(params![kind.as_str(), prefix], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// The stored values of a kind (under keys starting with `prefix`),
    /// each read back as `T`.
    pub fn values<T: serde::de::DeserializeOwned>(
        &self,
        kind: Kind,
        prefix: &str,
    ) -> Result<Vec<T>, StoreError> {
        self.state(kind, prefix)?
            .iter()
            .map(|(_, v)| Ok(serde_json::from_str(v)?))
            .collect()
    }

    /// One stored value, read back as `T`.
    pub fn get<T: serde::de::DeserializeOwned>(
        &self,
        kind: Kind,
        key: &str,
    ) -> Result<Option<T>, StoreError> {
        let v: Option<String> = self
            .conn
            .query_row(
                "SELECT value FROM state WHERE kind = ?1 AND key = ?2",
                params![kind.as_str(), key],
                |r| r.get(0),
            )
            .optional()?;
        Ok(v.map(|v| serde_json::from_str(&v)).transpose()?)
    }

    /// The highest `seq` stored, 0 for a new database.
    pub fn seq(&self) -> Result<u64, StoreError> {
        let v: Option<String> = self
            .conn
            .query_row("SELECT value FROM meta WHERE key = 'seq'", [], |r| r.get(0))
            .optional()?;
        Ok(v.and_then(|v| v.parse().ok()).unwrap_or(0))
    }

    /// Orders, newest first, that pass `filter` (its time range by
    /// creation).
    pub fn orders(&self, filter: &OrderFilter) -> Result<Vec<OrderView>, StoreError> {
        let keep = |o: &OrderView| filter.matches_view(o);
        let sql = "SELECT view FROM orders WHERE created_ms >= ?1 AND created_ms <= ?2
             ORDER BY created_ms DESC, no DESC";
        // Orders only in the journal (the tables could not be brought up
        // to date): their latest state, each at the time it was first seen.
        let mut fresh: Vec<(i64, OrderView)> = Vec::new();
        for (r, _) in &self.unapplied {
            if let Record::Order { view, at_ms } = r {
                match fresh.iter_mut().find(|(_, o)| same_order(o, view)) {
                    Some((_, o)) => *o = view.clone(),
                    None => fresh.push((*at_ms, view.clone())),
                }
            }
        }
        if fresh.is_empty() {
            return self.newest(sql, filter, keep);
        }
        let wider = OrderFilter {
            limit: filter.limit.map(|l| l + fresh.len()),
            ..filter.clone()
        };
        let mut stored = self.newest(sql, &wider, |_: &OrderView| true)?;
        fresh.retain(
            |(_, view)| match stored.iter_mut().find(|o| same_order(o, view)) {
                Some(o) => {
                    *o = view.clone();
                    false
                }
                None => true,
            },
        );
        let in_range = |at: i64| {
            filter.since_ms.is_none_or(|s| at >= s) && filter.until_ms.is_none_or(|u| at <= u)
        };
        let mut out: Vec<OrderView> = fresh
            .into_iter()
            .rev()
            .filter(|(at, _)| in_range(*at))
            .map(|(_, o)| o)
            .chain(stored)
            .filter(|o| keep(o))
            .collect();
        out.truncate(filter.limit.unwrap_or(usize::MAX));
        Ok(out)
    }

    /// Every state an order went through, oldest first.
    pub fn order_history(
        &self,
        exchange: &str,
        order_id: &str,
    ) -> Result<Vec<OrderView>, StoreError> {
        let mut stmt = self.conn.prepare(
            "SELECT view FROM order_events WHERE exchange = ?1 AND order_id = ?2 ORDER BY id",
        )?;
        let rows = stmt.query_map(params![exchange, order_id], |r| r.get::<_, String>(0))?;
        let mut history = rows
            .map(|r| Ok(serde_json::from_str(&r?)?))
            .collect::<Result<Vec<OrderView>, StoreError>>()?;
        history.extend(self.unapplied.iter().filter_map(|(r, _)| match r {
            Record::Order { view, .. }
                if view.exchange == exchange && view.order_id == order_id =>
            {
                Some(view.clone())
            }
            _ => None,
        }));
        Ok(history)
    }

    /// Trades, newest first, that pass `filter` (its time range by
    /// execution).
    pub fn trades(&self, filter: &OrderFilter) -> Result<Vec<TradeView>, StoreError> {
        let keep = |t: &TradeView| filter.matches_trade(t);
        let mut out: Vec<TradeView> = self
            .unapplied
            .iter()
            .rev()
            .filter_map(|(r, _)| match r {
                Record::Trade { view, at_ms }
                    if filter.since_ms.is_none_or(|s| *at_ms >= s)
                        && filter.until_ms.is_none_or(|u| *at_ms <= u)
                        && keep(view) =>
                {
                    Some(view.clone())
                }
                _ => None,
            })
            .collect();
        // Trades only in the journal (the tables could not be brought up
        // to date) come first: they are the newest.
        let stored = self.newest(
            "SELECT view FROM trades WHERE at_ms >= ?1 AND at_ms <= ?2
             ORDER BY at_ms DESC, no DESC",
            filter,
            keep,
        )?;
        let stored: Vec<TradeView> = stored
            .into_iter()
            .filter(|t| !out.iter().any(|f| same_trade(f, t)))
            .collect();
        out.extend(stored);
        out.truncate(filter.limit.unwrap_or(usize::MAX));
        Ok(out)
    }

    /// The stored views `sql` selects for the filter's time range, up to
    /// its `limit` of those that `keep` accepts.
    fn newest<T: serde::de::DeserializeOwned>(
        &self,
        sql: &str,
        filter: &OrderFilter,
        keep: impl Fn(&T) -> bool,
    ) -> Result<Vec<T>, StoreError> {
        let limit = filter.limit;
        let mut stmt = self.conn.prepare(sql)?;
        let rows = stmt.query_map(
            params![
                filter.since_ms.unwrap_or(i64::MIN),
                filter.until_ms.unwrap_or(i64::MAX)
            ],
            |r| r.get::<_, String>(0),
        )?;
        let mut out = Vec::new();
        for row in rows {
            let view: T = serde_json::from_str(&row?)?;
            if keep(&view) {
                out.push(view);
                if limit.is_some_and(|l| out.len() >= l) {
                    break;
                }
            }
        }
        Ok(out)
    }
}

/// Inserts a trade once, whatever replays it; a different trade under the
/// same identity is kept out and said, in the sentence returned.
fn insert_trade(
    tx: &rusqlite::Transaction<'_>,
    view: &TradeView,
    at_ms: i64,
    no: i64,
    json: &str,
) -> Result<Option<String>, StoreError> {
    let inserted = tx
        .prepare_cached(
            "INSERT INTO trades (exchange, order_id, trade_id, symbol, strategy, at_ms, no, view)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
             ON CONFLICT (exchange, order_id, trade_id) DO NOTHING",
        )?
        .execute(params![
            view.exchange,
            view.order_id,
            view.trade_id,
            view.symbol,
            view.strategy_id,
            at_ms,
            no,
            json
        ])?;
    if inserted > 0 {
        return Ok(None);
    }
    let kept: String = tx
        .prepare_cached(
            "SELECT view FROM trades WHERE exchange = ?1 AND order_id = ?2 AND trade_id = ?3",
        )?
        .query_row(params![view.exchange, view.order_id, view.trade_id], |r| {
            r.get(0)
        })?;
    if serde_json::from_str::<TradeView>(&kept)? == *view {
        return Ok(None);
    }
    Ok(Some(format!(
        "trade {} of order {} on {} arrived again with other contents; the first is kept: stored {kept}, arrived {json}",
        view.trade_id, view.order_id, view.exchange
    )))
}

fn same_order(a: &OrderView, b: &OrderView) -> bool {
    a.order_id == b.order_id && a.exchange == b.exchange
}

fn same_trade(a: &TradeView, b: &TradeView) -> bool {
    a.trade_id == b.trade_id && a.order_id == b.order_id && a.exchange == b.exchange
}

/// A protocol view as stored: its decimals as strings, so every digit
/// comes back.
fn stored<T: serde::Serialize>(view: &T) -> Result<String, StoreError> {
    Ok(laicai_core::num::numbers_as_strings(
        &serde_json::to_string(view)?,
    )?)
}

mod entry;

#[cfg(test)]
pub(crate) mod tests;
