//! What clients send (PROTOCOL.md §3): a text frame parsed into a command
//! or a subscription message, and each command's parameters checked into
//! the engine's own types, with errors that name the field. It sits on
//! top of the engine's domain (risk, strategies, venues, backtests),
//! which it parses parameters into; what goes back out is `wire`.

pub mod commands;

pub use commands::{
    parse_client_message, ClientMessage, Command, CommandEnvelope, CommandError, NewBacktest,
    NewConnection, NewStrategy, StrategyAction,
};
