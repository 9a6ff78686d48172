//! The wire types (PROTOCOL.md): every event the engine sends with its
//! views, the channels subscriptions route by, responses, the frame
//! errors, and the state view the registry keeps to answer each new
//! session with an exact `snapshot`. A leaf: it depends only on ids,
//! numbers, orders and time, so every other part of the engine can speak
//! it. Parsing what clients send is `protocol`, above.

pub mod backtest;
pub mod events;
pub mod export;
pub mod frame;
pub mod response;
pub mod subscription;
pub mod view;

pub use events::*;
pub use frame::FrameError;
pub use response::Response;
pub use subscription::{
    Channel, EventKey, MarketPrice, Route, SubscriptionRequest, SubscriptionSet, Topic,
    UpdateFrequency,
};
pub use view::StateView;
