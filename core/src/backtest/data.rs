//! Recorded market data as the backtester reads it: Binance's public CSV
//! formats — trades (`id,price,qty,quote_qty,time,is_buyer_maker[,…]`) and
//! klines (`open_time,open,high,low,close,volume,close_time,…`) — parsed
//! line by line into `Print`s (one traded price and size at a time). A
//! kline becomes four prints (open, then low and high in the order the
//! candle most likely took them, then close), each a quarter of its
//! volume. Times in microseconds (Binance's files since 2025) are read as
//! such. The format is told by the first data row (see `Format::of`). A
//! malformed row is an error naming
//! its line, never skipped.

use crate::num::parse_decimal;
use crate::order::Side;
use crate::time::TimestampMs;
use rust_decimal::Decimal;
use std::io::BufRead;

/// One replayed trade.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Print {
    pub at_ms: TimestampMs,
    pub price: Decimal,
    pub qty: Decimal,
    /// The aggressor's side (a buyer-maker trade was sold into).
    pub taker: Side,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Format {
    Trades,
    Klines,
}

impl Format {
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

fn positive(name: &str, text: &str) -> Result<Decimal, String> {
    let d = parse_decimal(text.trim()).map_err(|e| format!("{name}: {e}"))?;
    if d <= Decimal::ZERO {
        return Err(format!("{name} `{text}` must be greater than zero"));
    }
    Ok(d)
}

fn trade_row(fields: &[&str]) -> Result<Vec<Print>, String> {
    if fields.len() < 6 {
        return Err(format!(
            "a trade row has 6 or 7 fields (id,price,qty,quote_qty,time,is_buyer_maker), found {}",
            fields.len()
        ));
    }
    let price = positive("price", fields[1])?;
    let qty = positive("qty", fields[2])?;
    let at_ms = time_ms(fields[4])?;
    let taker = match fields[5].trim().to_ascii_lowercase().as_str() {
        "true" => Side::Sell,
        "false" => Side::Buy,
        other => return Err(format!("is_buyer_maker `{other}` is not true or false")),
    };
    Ok(vec![Print {
        at_ms,
        price,
        qty,
        taker,
    }])
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

fn kline_row(fields: &[&str]) -> Result<Vec<Print>, String> {
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
    Ok(path
        .iter()
        .enumerate()
        .map(|(i, &price)| {
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
        })
        .collect())
}

/// Reads every row of `reader` (named `file` in errors); a first line that
/// does not start with a number is a header. Rows must be in time order.
pub fn read_prints(
    file: &str,
    reader: impl BufRead,
    out: &mut Vec<Print>,
) -> Result<(), DataError> {
    let err = |line: usize, reason: String| DataError {
        file: file.to_string(),
        line,
        reason,
    };
    let mut last = out.last().map_or(i64::MIN, |p| p.at_ms);
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
            continue;
        }
        let prints = match *format.get_or_insert_with(|| Format::of(&fields)) {
            Format::Trades => trade_row(&fields),
            Format::Klines => kline_row(&fields),
        }
        .map_err(|reason| err(n, reason))?;
        for p in prints {
            if p.at_ms < last {
                return Err(err(
                    n,
                    format!("time {} goes back (before {last})", p.at_ms),
                ));
            }
            last = p.at_ms;
            out.push(p);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(format: Format, text: &str) -> Result<Vec<Print>, DataError> {
        let mut out = Vec::new();
        read_prints("f.csv", text.as_bytes(), &mut out)?;
        let first_row = text
            .lines()
            .map(|l| l.split(',').collect::<Vec<_>>())
            .find(|f| f[0].trim().parse::<f64>().is_ok());
        if let Some(fields) = first_row {
            assert_eq!(Format::of(&fields), format, "the format is told apart");
        }
        Ok(out)
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
