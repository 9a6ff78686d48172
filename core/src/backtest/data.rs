//! Recorded market data as the backtester reads it, parsed line by line
//! into `MarketEvent`s: trade prints and changes to the L2 book.
//!
//! - Binance's public CSV: trades (`id,price,qty,quote_qty,time,
//!   is_buyer_maker[,…]`) and klines (`open_time,open,high,low,close,
//!   volume,close_time,…`). A kline becomes four prints (open, then low
//!   and high in the order the candle most likely took them, then close),
//!   each a quarter of its volume. Times in microseconds (Binance's files
//!   since 2025) are read as such. Told apart by the first data row (see
//!   `Format::of`).
//! - Tardis-style CSV with a header: `incremental_book_L2` (`exchange,
//!   symbol,timestamp,local_timestamp,is_snapshot,side,price,amount`, an
//!   amount of 0 deletes the level) and `trades` (`exchange,symbol,
//!   timestamp,local_timestamp,id,side,price,amount`), times in µs.
//!
//! A malformed row is an error naming its line, never skipped.

use crate::num::parse_decimal;
use crate::order::Side;
use crate::order_book::{check_price, BookSide};
use crate::tape::{DepthChange, MarketEvent, Print};
use crate::time::TimestampMs;
use rust_decimal::Decimal;
use std::io::BufRead;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Format {
    Trades,
    Klines,
    /// Tardis `incremental_book_L2`.
    BookL2,
    /// Tardis `trades`.
    TardisTrades,
}

impl Format {
    /// A Tardis file, told by its header's column names.
    fn of_header(fields: &[&str]) -> Option<Format> {
        let has = |name: &str| fields.iter().any(|f| f.trim() == name);
        if !has("local_timestamp") {
            return None;
        }
        Some(if has("is_snapshot") {
            Format::BookL2
        } else {
            Format::TardisTrades
        })
    }

    /// Trades: a `true`/`false` in the sixth or seventh field, or too few
    /// fields for a kline; anything else is a kline row.
    fn of(fields: &[&str]) -> Format {
        let flag = |i: usize| {
            fields.get(i).is_some_and(|f| {
                let f = f.trim();
                f.eq_ignore_ascii_case("true") || f.eq_ignore_ascii_case("false")
            })
        };
        if fields.len() < 7 || flag(5) || flag(6) {
            Format::Trades
        } else {
            Format::Klines
        }
    }
}

/// A row that is not what the format says, by file and line (1-based).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}:{line}: {reason}")]
pub struct DataError {
    pub file: String,
    pub line: usize,
    pub reason: String,
}

/// A time in ms or µs (anything past the year 5138 in ms is µs).
fn time_ms(text: &str) -> Result<TimestampMs, String> {
    let t: i64 = text
        .trim()
        .parse()
        .map_err(|_| format!("time `{text}` is not an integer"))?;
    Ok(if t > 100_000_000_000_000 { t / 1000 } else { t })
}

/// A Tardis time: always µs since the epoch.
fn tardis_time_ms(text: &str) -> Result<TimestampMs, String> {
    let t: i64 = text
        .trim()
        .parse()
        .map_err(|_| format!("timestamp `{text}` is not an integer (µs)"))?;
    Ok(t.div_euclid(1000))
}

/// A `true`/`false` column (any case).
fn flag(name: &str, text: &str) -> Result<bool, String> {
    match text.trim().to_ascii_lowercase().as_str() {
        "true" => Ok(true),
        "false" => Ok(false),
        other => Err(format!("{name} `{other}` is not true or false")),
    }
}

fn positive(name: &str, text: &str) -> Result<Decimal, String> {
    let d = parse_decimal(text.trim()).map_err(|e| format!("{name}: {e}"))?;
    if d <= Decimal::ZERO {
        return Err(format!("{name} `{text}` must be greater than zero"));
    }
    Ok(d)
}

fn trade_row(fields: &[&str]) -> Result<Print, String> {
    if fields.len() < 6 {
        return Err(format!(
            "a trade row has 6 or 7 fields (id,price,qty,quote_qty,time,is_buyer_maker), found {}",
            fields.len()
        ));
    }
    let price = positive("price", fields[1])?;
    let qty = positive("qty", fields[2])?;
    let at_ms = time_ms(fields[4])?;
    // The buyer made the market: the taker sold.
    let taker = if flag("is_buyer_maker", fields[5])? {
        Side::Sell
    } else {
        Side::Buy
    };
    Ok(Print {
        at_ms,
        price,
        qty,
        taker,
    })
}

/// The fields of a Tardis row from its fifth on, after checking the count.
fn tardis_fields<'a>(fields: &[&'a str], what: &str) -> Result<[&'a str; 4], String> {
    match fields {
        [_, _, _, _, a, b, c, d] => Ok([a, b, c, d].map(|f| f.trim())),
        _ => Err(format!(
            "a {what} row has 8 fields (exchange,symbol,timestamp,local_timestamp,…), found {}",
            fields.len()
        )),
    }
}

fn book_l2_row(fields: &[&str]) -> Result<MarketEvent, String> {
    let [snapshot, side, price, amount] =
        tardis_fields(fields, "book (is_snapshot,side,price,amount)")?;
    let snapshot = flag("is_snapshot", snapshot)?;
    let side = match side.to_ascii_lowercase().as_str() {
        "bid" | "buy" => BookSide::Bid,
        "ask" | "sell" => BookSide::Ask,
        other => return Err(format!("side `{other}` is not bid or ask")),
    };
    let qty = parse_decimal(amount).map_err(|e| format!("amount: {e}"))?;
    if qty < Decimal::ZERO {
        return Err(format!("amount `{amount}` is negative"));
    }
    let price = positive("price", price)?;
    check_price(price).map_err(|e| e.to_string())?;
    Ok(MarketEvent::Depth(DepthChange {
        at_ms: tardis_time_ms(fields[2])?,
        side,
        price,
        qty,
        snapshot,
    }))
}

fn tardis_trade_row(fields: &[&str]) -> Result<MarketEvent, String> {
    let [_id, side, price, amount] = tardis_fields(fields, "trade (id,side,price,amount)")?;
    let taker = match side.to_ascii_lowercase().as_str() {
        "buy" => Side::Buy,
        "sell" => Side::Sell,
        other => return Err(format!("side `{other}` is not buy or sell")),
    };
    Ok(MarketEvent::Trade(Print {
        at_ms: tardis_time_ms(fields[2])?,
        price: positive("price", price)?,
        qty: positive("amount", amount)?,
        taker,
    }))
}

/// `p` as a line of Binance's trade CSV
/// (`id,price,qty,quote_qty,time,is_buyer_maker`): how the engine records
/// the market's trades; `read_prints` reads it back exactly.
pub fn trade_line(id: u64, p: &Print) -> String {
    format!(
        "{id},{},{},{},{},{}\n",
        p.price.normalize(),
        p.qty.normalize(),
        (p.price * p.qty).normalize(),
        p.at_ms,
        p.taker == Side::Sell
    )
}

fn kline_row(fields: &[&str]) -> Result<[Print; 4], String> {
    if fields.len() < 7 {
        return Err(format!(
            "a kline row has at least 7 fields (open_time,open,high,low,close,volume,close_time), found {}",
            fields.len()
        ));
    }
    let open_at = time_ms(fields[0])?;
    let close_at = time_ms(fields[6])?;
    let [open, high, low, close] =
        [("open", 1), ("high", 2), ("low", 3), ("close", 4)].map(|(n, i)| positive(n, fields[i]));
    let (open, high, low, close) = (open?, high?, low?, close?);
    let volume = parse_decimal(fields[5].trim()).map_err(|e| format!("volume: {e}"))?;
    if high < low || high < open.max(close) || low > open.min(close) {
        return Err(format!(
            "high {high} and low {low} do not hold open {open} and close {close}"
        ));
    }
    if close_at < open_at {
        return Err("close_time is before open_time".into());
    }
    let qty = volume / Decimal::from(4);
    let quarter = (close_at - open_at) / 3;
    let path = if close >= open {
        [open, low, high, close]
    } else {
        [open, high, low, close]
    };
    let mut prev = open;
    Ok(std::array::from_fn(|i| {
        let price = path[i];
        let taker = if price >= prev { Side::Buy } else { Side::Sell };
        prev = price;
        Print {
            at_ms: if i == 3 {
                close_at
            } else {
                open_at + quarter * i as i64
            },
            price,
            qty,
            taker,
        }
    }))
}

/// Reads every row of `reader` (named `file` in errors) onto `out`; a
/// first line that does not start with a number is a header. The file's
/// rows must be in time order.
pub fn read_events(
    file: &str,
    reader: impl BufRead,
    out: &mut Vec<MarketEvent>,
) -> Result<(), DataError> {
    let err = |line: usize, reason: String| DataError {
        file: file.to_string(),
        line,
        reason,
    };
    let mut last = i64::MIN;
    let mut format = None;
    for (i, line) in reader.lines().enumerate() {
        let n = i + 1;
        let line = line.map_err(|e| err(n, format!("cannot read: {e}")))?;
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let fields: Vec<&str> = line.split(',').collect();
        if n == 1 && fields[0].trim().parse::<f64>().is_err() {
            format = Format::of_header(&fields);
            continue;
        }
        let start = out.len();
        match *format.get_or_insert_with(|| Format::of(&fields)) {
            Format::Trades => trade_row(&fields).map(|p| out.push(MarketEvent::Trade(p))),
            Format::Klines => kline_row(&fields).map(|p| out.extend(p.map(MarketEvent::Trade))),
            Format::BookL2 => book_l2_row(&fields).map(|e| out.push(e)),
            Format::TardisTrades => tardis_trade_row(&fields).map(|e| out.push(e)),
        }
        .map_err(|reason| err(n, reason))?;
        for e in &out[start..] {
            let at = e.at_ms();
            if at < last {
                return Err(err(n, format!("time {at} goes back (before {last})")));
            }
            last = at;
        }
    }
    Ok(())
}

/// Several files' events (each in time order) as one stream in time
/// order; at the same time, the earlier file's first.
pub fn merge(files: Vec<Vec<MarketEvent>>) -> Vec<MarketEvent> {
    let mut all: Vec<MarketEvent> = files.into_iter().flatten().collect();
    if !all.is_sorted_by_key(MarketEvent::at_ms) {
        all.sort_by_key(MarketEvent::at_ms);
    }
    all
}

#[cfg(test)]
mod tests {
    use super::*;

    fn events(text: &str) -> Result<Vec<MarketEvent>, DataError> {
        let mut out = Vec::new();
        read_events("f.csv", text.as_bytes(), &mut out)?;
        Ok(out)
    }

    fn read(format: Format, text: &str) -> Result<Vec<Print>, DataError> {
        let out = events(text)?;
        let first_row = text
            .lines()
            .map(|l| l.split(',').collect::<Vec<_>>())
            .find(|f| f[0].trim().parse::<f64>().is_ok());
        if let Some(fields) = first_row {
            assert_eq!(Format::of(&fields), format, "the format is told apart");
        }
        Ok(out
            .into_iter()
            .map(|e| match e {
                MarketEvent::Trade(p) => p,
                other => panic!("not a print: {other:?}"),
            })
            .collect())
    }

    const BOOK_L2: &str =
        "exchange,symbol,timestamp,local_timestamp,is_snapshot,side,price,amount\n\
        binance,BTCUSDT,1700000000000000,1700000000000100,true,ask,100.5,2\n\
        binance,BTCUSDT,1700000000000000,1700000000000100,true,bid,100.4,1.5\n\
        binance,BTCUSDT,1700000000002000,1700000000002100,false,bid,100.4,0\n";

    #[test]
    fn tardis_book_rows_are_depth_changes_and_a_zero_amount_deletes() {
        let e = events(BOOK_L2).unwrap();
        assert_eq!(e.len(), 3);
        assert_eq!(
            e[1],
            MarketEvent::Depth(DepthChange {
                at_ms: 1_700_000_000_000,
                side: BookSide::Bid,
                price: Decimal::new(1004, 1),
                qty: Decimal::new(15, 1),
                snapshot: true,
            })
        );
        let MarketEvent::Depth(last) = e[2] else {
            panic!("{:?}", e[2])
        };
        assert_eq!(
            (last.at_ms, last.qty, last.snapshot),
            (1_700_000_000_002, Decimal::ZERO, false)
        );
    }

    #[test]
    fn tardis_trades_and_book_merge_in_time_order() {
        let trades = events(
            "exchange,symbol,timestamp,local_timestamp,id,side,price,amount\n\
             binance,BTCUSDT,1700000000001000,1700000000001100,7,sell,100.4,0.5\n\
             binance,BTCUSDT,1700000000002000,1700000000002100,8,buy,100.5,1\n",
        )
        .unwrap();
        assert_eq!(
            trades[0],
            MarketEvent::Trade(Print {
                at_ms: 1_700_000_000_001,
                price: Decimal::new(1004, 1),
                qty: Decimal::new(5, 1),
                taker: Side::Sell,
            })
        );
        let merged = merge(vec![events(BOOK_L2).unwrap(), trades]);
        let order: Vec<(TimestampMs, bool)> = merged
            .iter()
            .map(|e| (e.at_ms(), matches!(e, MarketEvent::Trade(_))))
            .collect();
        // At the same millisecond the book's file (given first) goes first.
        assert_eq!(
            order,
            [
                (1_700_000_000_000, false),
                (1_700_000_000_000, false),
                (1_700_000_000_001, true),
                (1_700_000_000_002, false),
                (1_700_000_000_002, true),
            ]
        );
    }

    #[test]
    fn bad_tardis_rows_name_their_line() {
        let head = "exchange,symbol,timestamp,local_timestamp,is_snapshot,side,price,amount\n";
        for (row, why) in [
            ("binance,BTCUSDT,1,1,maybe,bid,1,1", "is_snapshot"),
            ("binance,BTCUSDT,1,1,false,middle,1,1", "side"),
            ("binance,BTCUSDT,1,1,false,bid,1,-1", "negative"),
            ("binance,BTCUSDT,1,1,false,bid,0,1", "price"),
            ("binance,BTCUSDT,1,1,false,bid,1.000000001,1", "8 decimals"),
            ("binance,BTCUSDT,1,1,false,bid", "found 6"),
        ] {
            let e =
                events(&format!("{head}binance,BTCUSDT,1,1,true,bid,1,1\n{row}\n")).unwrap_err();
            assert_eq!(e.line, 3, "{row}: {e}");
            assert!(e.reason.contains(why), "{row}: {e}");
        }
    }

    #[test]
    fn a_recorded_trade_line_reads_back_exactly() {
        let prints = [
            Print {
                at_ms: 1_735_689_600_123,
                price: Decimal::new(5_200_012, 2),
                qty: Decimal::new(15, 5),
                taker: Side::Sell,
            },
            Print {
                at_ms: 1_735_689_600_124,
                price: Decimal::new(52_000, 0),
                qty: Decimal::new(2, 1),
                taker: Side::Buy,
            },
        ];
        let text: String = prints
            .iter()
            .enumerate()
            .map(|(i, p)| trade_line(i as u64 + 1, p))
            .collect();
        assert_eq!(
            text,
            "1,52000.12,0.00015,7.800018,1735689600123,true\n\
             2,52000,0.2,10400,1735689600124,false\n"
        );
        assert_eq!(read(Format::Trades, &text).unwrap(), prints);
    }

    #[test]
    fn trades_in_ms_and_us_with_or_without_header() {
        let p = read(
            Format::Trades,
            "id,price,qty,quote_qty,time,is_buyer_maker\n\
             1,100.5,0.2,20.1,1700000000000,true\n\
             2,100.6,0.1,10.06,1700000000001000,false,true\n",
        )
        .unwrap();
        assert_eq!(p.len(), 2);
        assert_eq!(p[0].price, Decimal::new(1005, 1));
        assert_eq!(p[0].taker, Side::Sell);
        assert_eq!(p[1].at_ms, 1_700_000_000_001);
        assert_eq!(p[1].taker, Side::Buy);
    }

    #[test]
    fn a_kline_is_four_prints_along_its_likely_path() {
        let p = read(
            Format::Klines,
            "0,100,110,90,105,8,59999,0,0,0,0,0\n60000,105,106,95,96,4,119999,0,0,0,0,0\n",
        )
        .unwrap();
        let prices: Vec<String> = p.iter().map(|p| p.price.to_string()).collect();
        assert_eq!(
            prices,
            ["100", "90", "110", "105", "105", "106", "95", "96"]
        );
        assert_eq!(p[0].qty, Decimal::TWO);
        assert_eq!(p[3].at_ms, 59_999);
    }

    #[test]
    fn bad_rows_name_their_file_and_line() {
        let e = read(Format::Trades, "1,100,1,100,5,true\n2,abc,1,1,6,true\n").unwrap_err();
        assert_eq!((e.file.as_str(), e.line), ("f.csv", 2));
        assert!(e.reason.starts_with("price"), "{e}");
        let e = read(Format::Trades, "1,100,1,100,5,maybe\n").unwrap_err();
        assert!(e.to_string().starts_with("f.csv:1: is_buyer_maker"), "{e}");
        let e = read(Format::Trades, "1,100,1,100,9,true\n2,100,1,100,5,true\n").unwrap_err();
        assert!(e.reason.contains("goes back"), "{e}");
        let e = read(Format::Klines, "0,100,99,90,105,8,59999\n").unwrap_err();
        assert!(e.reason.contains("do not hold"), "{e}");
        let e = read(Format::Trades, "1,100,1\n").unwrap_err();
        assert!(e.reason.contains("found 3"), "{e}");
    }
}
