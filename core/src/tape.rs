//! What a market printed, as it happened: trades and changes to the
//! book's levels, in time order. The backtester replays them, the paper
//! venue tapes them for the recorder, and the data readers produce them.

use crate::order::Side;
use crate::order_book::BookSide;
use crate::time::TimestampMs;
use rust_decimal::Decimal;

/// One replayed trade.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Print {
    pub at_ms: TimestampMs,
    pub price: Decimal,
    pub qty: Decimal,
    /// The aggressor's side (a buyer-maker trade was sold into).
    pub taker: Side,
}

/// One change to one level of the replayed L2 book.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DepthChange {
    pub at_ms: TimestampMs,
    pub side: BookSide,
    pub price: Decimal,
    /// The level's new size; zero deletes it.
    pub qty: Decimal,
    /// Part of a snapshot: the first such row after others starts a new book.
    pub snapshot: bool,
}

/// What the backtester replays, in time order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MarketEvent {
    Trade(Print),
    Depth(DepthChange),
}

impl MarketEvent {
    pub fn at_ms(&self) -> TimestampMs {
        match self {
            MarketEvent::Trade(p) => p.at_ms,
            MarketEvent::Depth(d) => d.at_ms,
        }
    }
}
