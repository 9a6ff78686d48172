//! The wire protocol (PROTOCOL.md): events the engine sends, commands and
//! subscription messages clients send, responses, and the state view the
//! registry keeps to answer every new session with an exact `snapshot`.

pub mod commands;
pub mod events;
pub mod export;
pub mod response;
pub mod subscription;
pub mod view;

pub use commands::{
    parse_client_message, ClientMessage, Command, CommandEnvelope, CommandError, FrameError,
    NewConnection, NewStrategy, OrderFilter, StrategyAction,
};
pub use events::*;
pub use response::Response;
pub use subscription::{
    Channel, EventKey, MarketPrice, Route, SubscriptionRequest, SubscriptionSet, Topic,
    UpdateFrequency,
};
pub use view::StateView;
