//! Where a numbered frame goes on the bus: its `seq`, and the subject it
//! is published on — `laicai.<engine>.evt.<type>.<symbol>` for events a
//! client must not miss (kept in order in the events stream) and
//! `laicai.<engine>.mkt.<type>.<symbol>` for market data (the market
//! stream keeps only the latest per subject). Plain functions, no I/O.

use serde::Deserialize;

/// The two streams an engine publishes to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lane {
    /// Every numbered event but market data, in `seq` order.
    Events,
    /// Prices, order books, market data: the latest per subject.
    Market,
}

/// A frame and where it goes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Routed {
    pub seq: u64,
    pub lane: Lane,
    pub subject: String,
}

/// Why a frame cannot be routed (it carries no `seq` or `type`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a frame without a seq or a type cannot go on the bus: {0}")]
pub struct Unroutable(pub String);

#[derive(Deserialize)]
struct Head<'a> {
    seq: Option<u64>,
    #[serde(rename = "type", borrow)]
    kind: Option<&'a str>,
    #[serde(borrow)]
    symbol: Option<&'a str>,
}

/// The names of the streams of `engine`.
pub fn stream_name(engine: &str, lane: Lane) -> String {
    let lane = match lane {
        Lane::Events => "EVENTS",
        Lane::Market => "MARKET",
    };
    format!("LAICAI_{}_{lane}", token(engine).to_ascii_uppercase())
}

/// The subjects a stream of `engine` takes.
pub fn stream_subjects(engine: &str, lane: Lane) -> String {
    format!("laicai.{}.{}.>", token(engine), lane_token(lane))
}

/// The subject commands to `engine` are sent on.
pub fn command_subject(engine: &str) -> String {
    format!("laicai.{}.cmd", token(engine))
}

/// The subject an engine answers with its `snapshot` frame on.
pub fn snapshot_subject(engine: &str) -> String {
    format!("laicai.{}.snap", token(engine))
}

/// The subject an engine answers with its run id on (it changes when the
/// engine restarts).
pub fn hello_subject(engine: &str) -> String {
    format!("laicai.{}.hello", token(engine))
}

fn lane_token(lane: Lane) -> &'static str {
    match lane {
        Lane::Events => "evt",
        Lane::Market => "mkt",
    }
}

/// A name made safe as one subject token: no dots, wildcards or spaces.
pub fn token(name: &str) -> String {
    let t: String = name
        .chars()
        .map(|c| match c {
            '.' | '*' | '>' => '_',
            c if c.is_whitespace() || c.is_control() => '_',
            c => c,
        })
        .collect();
    if t.is_empty() {
        "_".into()
    } else {
        t
    }
}

/// Routes a frame as the registry encoded it; `None` for a `snapshot`,
/// which is no event.
pub fn route(engine: &str, frame: &str) -> Result<Option<Routed>, Unroutable> {
    let head: Head<'_> = serde_json::from_str(frame).map_err(|e| Unroutable(format!("{e}")))?;
    let (Some(seq), Some(kind)) = (head.seq, head.kind) else {
        return Err(Unroutable(frame.chars().take(80).collect()));
    };
    let lane = match kind {
        "price" | "orderbook" | "market_data" => Lane::Market,
        // A session's first frame, not an event: gateways ask the engine
        // for theirs (`snapshot_subject`).
        "snapshot" => return Ok(None),
        _ => Lane::Events,
    };
    Ok(Some(Routed {
        seq,
        lane,
        subject: format!(
            "laicai.{}.{}.{}.{}",
            token(engine),
            lane_token(lane),
            token(kind),
            token(head.symbol.unwrap_or("_"))
        ),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_and_market_data_go_to_their_lanes() {
        let r = route(
            "main",
            r#"{"type":"order_update","seq":42,"symbol":"BTC-USDT","status":"open"}"#,
        )
        .unwrap();
        assert_eq!(
            r,
            Some(Routed {
                seq: 42,
                lane: Lane::Events,
                subject: "laicai.main.evt.order_update.BTC-USDT".into()
            })
        );
        let r = route(
            "main",
            r#"{"seq":7,"type":"price","symbol":"ETH-USDT","price":1}"#,
        )
        .unwrap()
        .unwrap();
        assert_eq!(r.lane, Lane::Market);
        assert_eq!(r.subject, "laicai.main.mkt.price.ETH-USDT");
        let r = route("eu.1", r#"{"seq":8,"type":"alerts","data":{}}"#)
            .unwrap()
            .unwrap();
        assert_eq!(r.subject, "laicai.eu_1.evt.alerts._");
    }

    #[test]
    fn names_are_made_safe_tokens() {
        assert_eq!(token("a.b c*>"), "a_b_c__");
        assert_eq!(token(""), "_");
        assert_eq!(stream_name("eu.1", Lane::Events), "LAICAI_EU_1_EVENTS");
        assert_eq!(stream_subjects("main", Lane::Market), "laicai.main.mkt.>");
        assert_eq!(command_subject("main"), "laicai.main.cmd");
        assert_eq!(snapshot_subject("main"), "laicai.main.snap");
        assert_eq!(hello_subject("main"), "laicai.main.hello");
    }

    #[test]
    fn a_frame_without_seq_or_type_is_refused() {
        assert!(route("main", r#"{"type":"price"}"#).is_err());
        assert!(route("main", r#"{"seq":1}"#).is_err());
        assert!(route("main", "not json").is_err());
        assert_eq!(route("main", r#"{"seq":3,"type":"snapshot"}"#), Ok(None));
    }
}
