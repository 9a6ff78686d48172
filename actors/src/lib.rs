//! laicai-actors: every actix actor of the engine. Each is a thin shell
//! that owns one piece of state from `laicai-core` and moves messages.
//!
//! Imports run one way: session → engine → exchange → order book →
//! registry. The registry uses no other actor.

pub mod clock;
pub mod engine;
pub mod exchange;
pub mod feed;
pub mod order_book;
pub mod registry;
pub mod risk;
pub mod session;
pub mod strategy;
pub mod venues;
