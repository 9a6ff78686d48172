//! Fuzzing every parser of outside input in the pure core: client frames
//! (commands and subscriptions), Binance's WebSocket and REST payloads,
//! and backtest CSV rows. Inputs are random text and mutations of real
//! frames (the examples in docs/PROTOCOL.md, Binance's documented
//! payloads): fields replaced by any JSON (huge numbers, 30-digit decimals,
//! `-0`, `NaN` strings, deep nesting), removed, or unknown ones added.
//! The parsers must never panic; a command the engine accepts must write
//! itself back as a frame that parses to the same command.
//!
//! Each target runs `PROPTEST_CASES` cases (256 by default: seconds, in
//! CI). A long run: `PROPTEST_CASES=200000 cargo test -p laicai-core --test
//! fuzz_parsers --release`. A failure is shrunk and saved under
//! `proptest-regressions/`, which is committed: it becomes a regression
//! test.

use laicai_core::backtest::data::read_events;
use laicai_core::binance::depth::DepthSync;
use laicai_core::binance::wire::{
    Account, ApiError, BookTicker, DepthSnapshot, DepthUpdate, ExchangeInfo, StreamFrame, UserEvent,
};
use laicai_core::protocol::commands::request_id_of;
use laicai_core::protocol::{parse_client_message, ClientMessage, Command};
use proptest::prelude::*;
use serde_json::{json, Map, Value};

/// Every one-line JSON example of docs/PROTOCOL.md a client sends.
fn protocol_frames() -> Vec<Value> {
    include_str!("../../docs/PROTOCOL.md")
        .lines()
        .filter(|l| l.starts_with("{\"cmd\"") || l.starts_with("{\"type\":\"subscribe"))
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}

/// Binance's payloads as its documentation shows them.
fn binance_payloads() -> Vec<Value> {
    [
        r#"{"e":"executionReport","E":1499405658658,"s":"ETHBTC","c":"mUvoqJxFIILMdfAW5iGSOW","S":"BUY","o":"LIMIT","f":"GTC","q":"1.00000000","p":"0.10264410","x":"TRADE","X":"PARTIALLY_FILLED","r":"NONE","i":4293153,"l":"0.5","z":"0.5","L":"0.1026","n":"0.0001","N":"BNB","T":1499405658657,"t":77,"m":true,"Z":"0.0513"}"#,
        r#"{"subscriptionId":0,"event":{"e":"outboundAccountPosition","E":1564034571105,"u":1564034571073,"B":[{"a":"ETH","f":"10000.000000","l":"0.000000"}]}}"#,
        r#"{"e":"listenKeyExpired","E":1576653824250,"listenKey":"OfYGbUzi3PraNagEkdKuFwUHn48brFsItTdsuiIXrucEvD0rhRXZ7I6URWfE8YE8"}"#,
        r#"{"e":"depthUpdate","E":1,"s":"BNBBTC","U":157,"u":160,"b":[["0.0024","10"]],"a":[["0.0026","0"]]}"#,
        r#"{"u":400900217,"s":"BNBUSDT","b":"25.35","B":"31.21","a":"25.36","A":"40.66"}"#,
        r#"{"stream":"btcusdt@bookTicker","data":{"u":400900217,"s":"BTCUSDT","b":"25.35","B":"31.21","a":"25.36","A":"40.66"}}"#,
        r#"{"lastUpdateId":1027024,"bids":[["4.00","431.0"]],"asks":[["4.02","12.0"]]}"#,
        r#"{"code":-1121,"msg":"Invalid symbol."}"#,
        r#"{"balances":[{"asset":"BTC","free":"4723846.89208129","locked":"0.00000000"}]}"#,
        r#"{"symbols":[{"symbol":"BTCUSDT","status":"TRADING","baseAsset":"BTC","quoteAsset":"USDT","filters":[{"filterType":"PRICE_FILTER","minPrice":"0.01","maxPrice":"1000000","tickSize":"0.01"},{"filterType":"LOT_SIZE","minQty":"0.00001","maxQty":"9000","stepSize":"0.00001"},{"filterType":"NOTIONAL","minNotional":"5"}]}]}"#,
    ]
    .iter()
    .filter_map(|t| serde_json::from_str(t).ok())
    .collect()
}

/// Any JSON, with the values parsers find hardest.
fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>().prop_map(|f| json!(f)),
        prop_oneof![
            Just("1e400"),
            Just("-0"),
            Just("NaN"),
            Just("inf"),
            Just("-1"),
            Just("0"),
            Just("123456789012345678901234567890"),
            Just("0.000000000000000000000000000001"),
            Just("79228162514264337593543950336"),
            Just("79228162514264337593543950335"),
            Just("18446744073709551615"),
            Just("BTC-USDT"),
            Just(""),
            Just("1,5"),
            Just("\u{0}"),
        ]
        .prop_map(|s| Value::String(s.into())),
        ".{0,24}".prop_map(Value::String),
    ];
    leaf.prop_recursive(6, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map(".{0,8}", inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

/// Nesting deeper than any parser's limit.
fn deep(depth: usize) -> Value {
    let mut v = json!(1);
    for _ in 0..depth {
        v = json!([v]);
    }
    v
}

#[derive(Clone, Debug)]
enum Mutation {
    Replace(usize, Value),
    Remove(usize),
    Add(String, Value),
    Deepen(usize, usize),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        4 => (any::<usize>(), any_json()).prop_map(|(i, v)| Mutation::Replace(i, v)),
        2 => any::<usize>().prop_map(Mutation::Remove),
        1 => (".{0,12}", any_json()).prop_map(|(k, v)| Mutation::Add(k, v)),
        1 => (any::<usize>(), 100usize..200).prop_map(|(i, d)| Mutation::Deepen(i, d)),
    ]
}

/// Applies mutations to the top-level fields of `frame` (and of its
/// `event`/`data`, where the payload nests one).
fn mutate(mut frame: Value, mutations: &[Mutation]) -> Value {
    for m in mutations {
        let Some(obj) = frame.as_object_mut() else {
            return frame;
        };
        let keys: Vec<String> = obj.keys().cloned().collect();
        let key = |i: &usize| keys.get(i % keys.len().max(1)).cloned();
        match m {
            Mutation::Replace(i, v) => {
                if let Some(k) = key(i) {
                    obj.insert(k, v.clone());
                }
            }
            Mutation::Remove(i) => {
                if let Some(k) = key(i) {
                    obj.remove(&k);
                }
            }
            Mutation::Add(k, v) => {
                obj.insert(k.clone(), v.clone());
            }
            Mutation::Deepen(i, d) => {
                if let Some(k) = key(i) {
                    obj.insert(k, deep(*d));
                }
            }
        }
    }
    frame
}

/// The engine's whole reading of a client frame, with the round trip of
/// whatever it accepts.
fn read_frame(text: &str) {
    let _ = request_id_of(text);
    if let Ok(ClientMessage::Command(env)) = parse_client_message(text) {
        if let Ok(command) = Command::parse(&env) {
            let again = Command::parse(&command.envelope(None));
            assert_eq!(again.as_ref(), Ok(&command), "{text}");
            // What an accepted order costs can always be computed.
            if let Command::PlaceOrder { order, .. } = &command {
                let notional = order
                    .price
                    .map_or(Some(order.size), |p| p.checked_mul(order.size));
                assert!(
                    notional
                        .and_then(|n| n.checked_mul(laicai_core::Decimal::TWO))
                        .is_some(),
                    "{text}"
                );
            }
        }
    }
}

/// Every Binance payload parser, as the connector calls them.
fn read_binance(text: &str) {
    let _ = UserEvent::parse(text);
    let _ = serde_json::from_str::<StreamFrame>(text);
    let _ = serde_json::from_str::<BookTicker>(text);
    let _ = serde_json::from_str::<DepthSnapshot>(text);
    let _ = serde_json::from_str::<ApiError>(text);
    let _ = serde_json::from_str::<Account>(text);
    let _ = serde_json::from_str::<ExchangeInfo>(text);
    if let Ok(update) = serde_json::from_str::<DepthUpdate>(text) {
        let mut sync = DepthSync::default();
        let _ = sync.on_update(update.clone());
        if let Ok(snap) = serde_json::from_str::<DepthSnapshot>(
            r#"{"lastUpdateId":158,"bids":[["0.0024","1"]],"asks":[["0.0026","1"]]}"#,
        ) {
            let _ = sync.on_snapshot(snap);
        }
        let _ = sync.on_update(update);
    }
}

proptest! {
    #[test]
    fn random_text_never_panics_a_frame_parser(text in ".{0,300}") {
        read_frame(&text);
        read_binance(&text);
    }

    #[test]
    fn mutated_client_frames_never_panic_and_what_is_accepted_round_trips(
        pick in any::<prop::sample::Index>(),
        mutations in prop::collection::vec(mutation(), 0..4),
    ) {
        let seeds = protocol_frames();
        prop_assume!(!seeds.is_empty());
        let frame = mutate(pick.get(&seeds).clone(), &mutations);
        read_frame(&frame.to_string());
    }

    #[test]
    fn mutated_binance_payloads_never_panic(
        pick in any::<prop::sample::Index>(),
        mutations in prop::collection::vec(mutation(), 0..4),
        nested in any::<bool>(),
    ) {
        let seeds = binance_payloads();
        let mut payload = pick.get(&seeds).clone();
        // Mutate inside the envelope too, where there is one.
        for inner in ["event", "data"] {
            if let Some(v) = payload.get(inner).cloned() {
                if nested {
                    payload[inner] = mutate(v, &mutations);
                }
            }
        }
        let payload = mutate(payload, &mutations);
        read_binance(&payload.to_string());
    }

    #[test]
    fn random_csv_rows_never_panic_the_backtest_reader(
        rows in prop::collection::vec(
            prop_oneof![
                ".{0,80}",
                prop::collection::vec(
                    prop_oneof![
                        "[0-9]{1,14}",
                        "-?[0-9]{0,8}\\.[0-9]{0,12}",
                        Just("true".to_string()),
                        Just("False".to_string()),
                        Just("".to_string()),
                        Just("NaN".to_string()),
                        Just("1e400".to_string()),
                    ],
                    0..14,
                ).prop_map(|f| f.join(",")),
            ],
            0..20,
        ),
    ) {
        let text = rows.join("\n");
        let mut out = Vec::new();
        let _ = read_events("fuzz.csv", text.as_bytes(), &mut out);
    }
}

#[test]
fn the_seed_corpora_are_real_and_read() {
    let frames = protocol_frames();
    assert!(frames.len() >= 30, "{} frames", frames.len());
    let accepted = frames
        .iter()
        .filter_map(|f| match parse_client_message(&f.to_string()) {
            Ok(ClientMessage::Command(env)) => Command::parse(&env).ok(),
            _ => None,
        })
        .count();
    assert!(accepted >= 25, "only {accepted} example commands parse");
    let binance = binance_payloads();
    assert_eq!(binance.len(), 10);
    assert!(matches!(
        UserEvent::parse(&binance[0].to_string()),
        Ok(UserEvent::Execution(_))
    ));
    assert!(matches!(
        UserEvent::parse(&binance[1].to_string()),
        Ok(UserEvent::Account(_))
    ));
    assert!(serde_json::from_str::<ExchangeInfo>(&binance[9].to_string()).is_ok());
}
