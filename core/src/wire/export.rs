//! `export_trades`: trades as CSV for accounting — one header line, one
//! line per trade, exact decimals, fields quoted only where CSV needs it.

use super::events::TradeView;
use crate::num::to_json_text;
use std::fmt::Write;

pub const TRADES_CSV_HEADER: &str = "time,exchange,trade_id,order_id,symbol,side,price,amount,quote_amount,fee,fee_asset,liquidity,strategy,strategy_id";

/// One field as CSV writes it: quoted when it holds a comma, a quote or a
/// line break (quotes doubled inside).
fn field(out: &mut String, text: &str) {
    if text.contains([',', '"', '\n', '\r']) {
        out.push('"');
        out.push_str(&text.replace('"', "\"\""));
        out.push('"');
    } else {
        out.push_str(text);
    }
}

/// The trades, in the order given, under `TRADES_CSV_HEADER`.
pub fn trades_csv<'a>(trades: impl IntoIterator<Item = &'a TradeView>) -> String {
    let mut out = String::from(TRADES_CSV_HEADER);
    out.push('\n');
    for t in trades {
        let quote = t.price * t.amount;
        let cells = [
            t.time.clone(),
            t.exchange.clone(),
            t.trade_id.clone(),
            t.order_id.clone(),
            t.symbol.clone(),
            t.side.to_string(),
            to_json_text(&t.price),
            to_json_text(&t.amount),
            to_json_text(&quote),
            to_json_text(&t.fee),
            t.fee_asset.clone(),
            t.liquidity.to_string(),
            t.strategy.clone().unwrap_or_default(),
            t.strategy_id.clone().unwrap_or_default(),
        ];
        for (i, c) in cells.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            field(&mut out, c);
        }
        let _ = writeln!(out);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::order::Side;
    use crate::wire::events::Liquidity;
    use rust_decimal::Decimal;
    use std::str::FromStr;

    #[test]
    fn one_exact_line_per_trade_with_awkward_names_quoted() {
        let t = TradeView {
            trade_id: "TRD-7".into(),
            order_id: "ORD-3".into(),
            symbol: "BTC-USDT".into(),
            price: Decimal::from_str("52000.10").unwrap(),
            amount: Decimal::from_str("0.0123").unwrap(),
            side: Side::Sell,
            fee: Decimal::from_str("0.000639601230").unwrap(),
            fee_asset: "USDT".into(),
            liquidity: Liquidity::Maker,
            strategy: Some("MM, \"fast\"".into()),
            strategy_id: Some("str-001".into()),
            exchange: "paper".into(),
            connection_id: None,
            time: "2026-11-22T10:00:00.123Z".into(),
        };
        let csv = trades_csv([&t]);
        let lines: Vec<&str> = csv.lines().collect();
        assert_eq!(lines[0], TRADES_CSV_HEADER);
        assert_eq!(
            lines[1],
            "2026-11-22T10:00:00.123Z,paper,TRD-7,ORD-3,BTC-USDT,sell,52000.1,0.0123,639.60123,0.00063960123,USDT,maker,\"MM, \"\"fast\"\"\",str-001"
        );
        assert_eq!(lines.len(), 2);
    }
}
