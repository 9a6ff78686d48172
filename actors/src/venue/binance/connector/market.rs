//! The connector's market side: `bookTicker` quotes, the diff-depth
//! stream kept in step with REST snapshots, and the order book actor fed
//! from it.

use super::BinanceConnector;
use crate::order_book::ReplaceBook;
use crate::registry::Publish;
use crate::venue::contract::VenueEvent;
use actix::prelude::*;
use laicai_core::binance::depth::DepthOutcome;
use laicai_core::binance::wire::{BookTicker, DepthSnapshot, DepthUpdate, StreamFrame};
use laicai_core::wire::events::{Event, LogLevel, PriceUpdate};
use std::time::Duration;

impl BinanceConnector {
    pub(super) fn fetch_snapshot(&mut self, venue_symbol: String, ctx: &mut Context<Self>) {
        if self
            .snapshot_pending
            .get(&venue_symbol)
            .copied()
            .unwrap_or(false)
        {
            return;
        }
        self.snapshot_pending.insert(venue_symbol.clone(), true);
        let rest = self.rest.clone();
        let v = venue_symbol.clone();
        let work = async move {
            rest.public::<DepthSnapshot>(
                "/api/v3/depth",
                &[("symbol", v), ("limit", "1000".into())],
            )
            .await
        };
        ctx.spawn(work.into_actor(self).map(move |answer, act, ctx| {
            act.snapshot_pending.insert(venue_symbol.clone(), false);
            match answer {
                Ok(snap) => {
                    let outcome = act
                        .depth
                        .entry(venue_symbol.clone())
                        .or_default()
                        .on_snapshot(snap);
                    act.after_depth(&venue_symbol, outcome, ctx);
                }
                Err(e) => {
                    act.log(
                        LogLevel::Warning,
                        format!("depth snapshot {venue_symbol}: {e}"),
                    );
                    act.on_rest_error("depth snapshot", &e, ctx);
                    let retry = venue_symbol.clone();
                    ctx.run_later(Duration::from_secs(1), move |act, ctx| {
                        act.fetch_snapshot(retry, ctx)
                    });
                }
            }
        }));
    }

    fn after_depth(&mut self, venue_symbol: &str, outcome: DepthOutcome, ctx: &mut Context<Self>) {
        let symbol = self
            .account()
            .and_then(|a| a.symbols().symbol(venue_symbol))
            .cloned();
        let Some(symbol) = symbol else {
            return;
        };
        let book = self.books.get(&symbol).cloned();
        match outcome {
            DepthOutcome::Applied => {
                let Some(b) = self.depth.get(venue_symbol).and_then(|sync| sync.book()) else {
                    return;
                };
                let now = self.s.clock.now_ms();
                // The book's own top is a market price too: risk and
                // strategies need not wait for a book ticker.
                let top = b
                    .best_bid()
                    .zip(b.best_ask())
                    .map(|(bid, ask)| (bid.0, ask.0));
                if let Some(book) = book {
                    let (bids, asks) = b.top(self.s.book_depth);
                    let _ = book.try_send(ReplaceBook {
                        bids,
                        asks,
                        at_ms: now,
                    });
                }
                if let Some((bid, ask)) = top.filter(|(bid, ask)| bid < ask) {
                    if let Some(a) = self.carry.account.as_mut() {
                        a.set_mark(&symbol, (bid + ask) / rust_decimal::Decimal::TWO);
                    }
                    self.tell(VenueEvent::Quote {
                        symbol,
                        bid,
                        ask,
                        at_ms: now,
                    });
                }
            }
            DepthOutcome::Resync { .. } | DepthOutcome::Invalid(_) => {
                let msg = match &outcome {
                    DepthOutcome::Resync { expected, got } => format!("{venue_symbol} depth gap (expected update {expected}, got {got}): resyncing the book"),
                    DepthOutcome::Invalid(why) => format!("{venue_symbol} depth: {why}: resyncing the book"),
                    _ => format!("{venue_symbol} depth: resyncing the book"),
                };
                tracing::warn!(connection = %self.id, %msg);
                self.log(LogLevel::Warning, msg);
                if let Some(book) = book {
                    // An empty book rather than a wrong one until the snapshot lands.
                    let _ = book.try_send(ReplaceBook {
                        bids: vec![],
                        asks: vec![],
                        at_ms: self.s.clock.now_ms(),
                    });
                }
                self.fetch_snapshot(venue_symbol.to_string(), ctx);
            }
            DepthOutcome::Waiting => self.fetch_snapshot(venue_symbol.to_string(), ctx),
            DepthOutcome::Stale => {}
        }
    }

    pub(super) fn on_market_text(&mut self, text: &str, ctx: &mut Context<Self>) {
        let Ok(frame) = serde_json::from_str::<StreamFrame>(text) else {
            return;
        };
        if frame.stream.ends_with("@bookTicker") {
            let Ok(t) = serde_json::from_value::<BookTicker>(frame.data) else {
                return;
            };
            let Some(symbol) = self
                .account()
                .and_then(|a| a.symbols().symbol(&t.symbol))
                .cloned()
            else {
                return;
            };
            let mid = (t.bid + t.ask) / rust_decimal::Decimal::TWO;
            if let Some(a) = self.carry.account.as_mut() {
                a.set_mark(&symbol, mid);
            }
            let now = self.s.clock.now_ms();
            self.carry.candles.entry(symbol.clone()).or_default().add(
                mid,
                rust_decimal::Decimal::ZERO,
                now,
            );
            self.tell(VenueEvent::Quote {
                symbol: symbol.clone(),
                bid: t.bid,
                ask: t.ask,
                at_ms: now,
            });
            let price = Event::Price(PriceUpdate {
                symbol: symbol.to_string(),
                price: mid,
                bid: Some(t.bid),
                ask: Some(t.ask),
                exchange: self.name.clone(),
                connection_id: None,
            });
            let _ = self.registry.try_send(Publish::at(price, now));
        } else if frame.stream.contains("@depth") {
            let Ok(d) = serde_json::from_value::<DepthUpdate>(frame.data) else {
                return;
            };
            let v = d.symbol.clone();
            let outcome = self.depth.entry(v.clone()).or_default().on_update(d);
            self.after_depth(&v, outcome, ctx);
        }
    }
}
