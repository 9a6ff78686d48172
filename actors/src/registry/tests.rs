use super::*;

#[test]
fn the_stored_seq_ceiling_stays_ahead_of_every_seq_handed_out() {
    for step in [1, BUS_SEQ_STEP] {
        let db = temp_db("seq");
        let store = crate::storage::Store::open(&db).unwrap();
        let storage = crate::storage::StorageActor::start(store, 64).unwrap();
        // As a restart leaves it: numbering from the last ceiling, the
        // next one a lease ahead.
        let start = 7 * SEQ_LEASE * BUS_SEQ_STEP;
        let mut seq = SeqCounter {
            seq: start,
            step,
            lease: Some((storage.clone(), start + SEQ_LEASE * step)),
        };
        let mut last = start;
        for _ in 0..(2 * SEQ_LEASE) {
            let next = seq.next();
            assert_eq!(next, last + step);
            last = next;
        }
        // Wait for every queued write, then read what a restart would.
        let (tx, rx) = std::sync::mpsc::channel();
        storage.write(Vec::new(), Some(Box::new(move |r| tx.send(r).unwrap())));
        rx.recv().unwrap().unwrap();
        let stored = crate::storage::Store::open(&db).unwrap().seq().unwrap();
        assert!(
            stored > last,
            "step {step}: stored ceiling {stored} is not above seq {last}"
        );
        assert!(stored <= last + SEQ_LEASE * step);
    }
}

fn temp_db(what: &str) -> std::path::PathBuf {
    std::env::temp_dir()
        .join(format!(
            "laicai-{what}-{}-{:?}",
            std::process::id(),
            Instant::now()
        ))
        .join("laicai.db")
}

#[actix_rt::test]
async fn events_after_the_seal_are_carried_with_the_ring() {
    let db = temp_db("carry");
    let store = crate::storage::Store::open(&db).unwrap();
    let storage = crate::storage::StorageActor::start(store, 64).unwrap();
    let registry = RegistryActor::new(RegistryConfig {
        mailbox: 64,
        replay_events: 100,
        backlog_limit: 100,
        slow_client_timeout: Duration::from_secs(1),
        subscription_limit: 10,
        clock: crate::clock::Clock::System,
    })
    .continuing(storage.clone(), 500, 500 + SEQ_LEASE, None)
    .start();
    let log = |m: &str| Publish::now(Event::log(LogLevel::Info, m, "test"));
    registry.send(log("before")).await.unwrap();
    assert_eq!(registry.send(Seal).await.unwrap(), 1);
    // A position mark, a fill: the engine runs until the process ends.
    registry.send(log("after")).await.unwrap();
    registry.send(log("later")).await.unwrap();
    // The seal stored the ring once; what came after, one record each.
    let sealed: CarriedRing = storage
        .read(|s| s.get(Kind::Stream, CARRIED_RING_KEY))
        .await
        .unwrap()
        .expect("a carried ring");
    assert_eq!(sealed.frames.len(), 1, "{sealed:?}");
    let (ring, keys) = storage.read(CarriedRing::take_from).await.unwrap();
    let ring = ring.expect("a carried ring");
    let seqs: Vec<u64> = ring.frames.iter().map(|f| f.0).collect();
    assert_eq!(seqs, [501, 502, 503], "{ring:?}");
    assert_eq!(ring.dropped_upto, 500);
    assert!(ring.frames[1].3.contains("after"));
    assert!(ring.frames[2].3.contains("later"));
    assert_eq!(keys.len(), 3, "{keys:?}");
}

#[test]
fn an_unreadable_carried_event_costs_the_replay_not_the_start_and_is_taken_too() {
    let mut store = crate::storage::Store::open(&temp_db("carry-unreadable")).unwrap();
    let ring = CarriedRing {
        dropped_upto: 9,
        frames: vec![carried(10)],
    };
    store
        .write(&[
            Record::put(Kind::Stream, CARRIED_RING_KEY, &ring).unwrap(),
            Record::put(Kind::Stream, "ring/00000000000000000011", &carried(11)).unwrap(),
            Record::put(Kind::Stream, "ring/00000000000000000012", &"not a frame").unwrap(),
        ])
        .unwrap();
    let (read, mut keys) = CarriedRing::take_from(&store).unwrap();
    assert_eq!(read, None);
    keys.sort();
    assert_eq!(
        keys,
        [
            CARRIED_RING_KEY,
            "ring/00000000000000000011",
            "ring/00000000000000000012"
        ]
    );
}

fn carried(seq: u64) -> CarriedFrame {
    (seq, "log".into(), None, format!("{{\"seq\":{seq}}}"))
}

#[test]
fn events_after_the_seal_extend_the_ring_once_each_and_keep_it_bounded() {
    let mut ring = CarriedRing {
        dropped_upto: 9,
        frames: vec![carried(10), carried(11)],
    };
    // 11 again (stored with the ring and after it), then newer ones.
    ring.extend_later([carried(11), carried(12), carried(13)]);
    let seqs: Vec<u64> = ring.frames.iter().map(|f| f.0).collect();
    assert_eq!(seqs, [10, 11, 12, 13]);
    assert_eq!(ring.dropped_upto, 9);

    let mut full = CarriedRing {
        dropped_upto: 0,
        frames: (1..=CARRIED_EVENTS as u64).map(carried).collect(),
    };
    let newest = CARRIED_EVENTS as u64;
    full.extend_later([carried(newest + 1), carried(newest + 2)]);
    assert_eq!(full.frames.len(), CARRIED_EVENTS);
    assert_eq!(full.frames[0].0, 3);
    assert_eq!(full.frames.last().map(|f| f.0), Some(newest + 2));
    // Replay from before the oldest kept is a gap.
    assert_eq!(full.dropped_upto, 2);
}

fn frame(s: &str) -> Frame {
    Frame {
        text: ByteString::from(s.to_string()),
        kind: EventKind::Price,
    }
}

#[test]
fn backlog_keeps_order_and_conflates_market_data() {
    let mut b = Backlog::default();
    let k = |s: &str| Some(("price", s.to_string()));
    b.push(frame("p1"), k("BTC"));
    b.push(frame("o1"), None);
    assert!(b.push(frame("p2"), k("BTC")));
    b.push(frame("e1"), k("ETH"));
    b.push(frame("o2"), None);
    assert_eq!(b.live, 4);
    let (f, key) = b.pop().unwrap();
    assert_eq!(f.text, "o1");
    b.unpop(f, key);
    let order: Vec<String> = std::iter::from_fn(|| b.pop())
        .map(|(f, _)| f.text.to_string())
        .collect();
    assert_eq!(order, vec!["o1", "p2", "e1", "o2"]);
    assert!(b.is_empty());
    b.push(frame("p3"), k("BTC"));
    assert!(!b.push(frame("o3"), None));
    assert_eq!(b.pop().unwrap().0.text, "p3");
}

/// A gateway's registry with one session subscribed to BTC-USDT prices
/// at most once a second (and to order updates and alerts); what the
/// session is sent.
async fn gateway_with_a_throttled_session() -> (Addr<RegistryActor>, crate::outbox::Inbox) {
    let registry = RegistryActor::new(RegistryConfig {
        mailbox: 64,
        replay_events: 100,
        backlog_limit: 100,
        slow_client_timeout: Duration::from_secs(5),
        subscription_limit: 10,
        clock: crate::clock::Clock::System,
    })
    .relaying()
    .start();
    registry
        .send(Rebase {
            snapshot: StateView::default().snapshot(),
            seq: 100,
            dropped_upto: 100,
        })
        .await
        .unwrap();
    let (outbox, inbox) = crate::outbox::outbox(64);
    let map: serde_json::Map<String, serde_json::Value> = serde_json::from_str(
        r#"{"type":"subscribe","symbols":["BTC-USDT"],"data_types":["price","order_update","alerts"],"update_frequency":"1s"}"#,
    )
    .unwrap();
    registry
        .send(Register {
            session: SessionId(1),
            outbox,
            subscriptions: SubscriptionSet::empty(),
            evicted: Arc::new(AtomicBool::new(false)),
            socket: None,
        })
        .await
        .unwrap();
    registry
        .send(Subscribe {
            session: SessionId(1),
            request: SubscriptionRequest::parse(&map).unwrap(),
        })
        .await
        .unwrap()
        .unwrap();
    (registry, inbox)
}

fn relayed(seq: u64, event: Event) -> Relay {
    let text = laicai_core::wire::events::encode(&event, 0, seq).unwrap();
    Relay {
        seq,
        event,
        frame: ByteString::from(text),
    }
}

fn price(p: i64) -> Event {
    Event::Price(laicai_core::wire::events::PriceUpdate {
        symbol: "BTC-USDT".into(),
        price: rust_decimal::Decimal::new(p, 0),
        bid: None,
        ask: None,
        exchange: "paper".into(),
        connection_id: None,
    })
}

/// The `seq` of each frame the session has been sent so far (its
/// snapshot first).
async fn seqs(inbox: &mut crate::outbox::Inbox) -> Vec<u64> {
    use futures_util::StreamExt;
    let mut out = Vec::new();
    while let Ok(Some(f)) = actix_rt::time::timeout(Duration::from_millis(50), inbox.next()).await {
        let v: serde_json::Value = serde_json::from_str(&f).unwrap();
        out.push(v["seq"].as_u64().unwrap());
    }
    out
}

/// Through a gateway a throttled subscription gets, once its interval is
/// up, the newest price held back, numbered as the engine numbered it —
/// unless the session has since had a newer frame.
#[actix_rt::test]
async fn a_gateways_throttled_session_gets_the_newest_held_price_in_seq_order() {
    let (registry, mut inbox) = gateway_with_a_throttled_session().await;
    for (seq, p) in [(101, 1), (102, 2), (103, 3)] {
        registry.send(relayed(seq, price(p))).await.unwrap();
    }
    // The snapshot, the first price at once; 102 and 103 are held.
    assert_eq!(seqs(&mut inbox).await, vec![100, 101]);
    actix_rt::time::sleep(Duration::from_millis(1100)).await;
    assert_eq!(
        seqs(&mut inbox).await,
        vec![103],
        "the newest, at the interval's end"
    );
    // A price held back, then an order update: the held price is older
    // than what the session has, and is not sent.
    registry.send(relayed(104, price(4))).await.unwrap();
    registry.send(relayed(105, price(5))).await.unwrap();
    relay_an_order(&registry, 106).await;
    actix_rt::time::sleep(Duration::from_millis(1100)).await;
    // 104 and 105 came within the interval of the last flush: held, and
    // 105, older than 106, is then not sent.
    assert_eq!(seqs(&mut inbox).await, vec![106]);
    registry.send(relayed(107, price(7))).await.unwrap();
    assert_eq!(seqs(&mut inbox).await, vec![107], "due again: sent at once");
}

/// A gateway's own frames (a client's protocol error, its alerts) are
/// numbered in the gap the engine leaves after each of its events: above
/// everything the session was sent, below the engine's next number.
#[actix_rt::test]
async fn a_gateways_own_frames_are_numbered_in_the_engines_gaps() {
    let (registry, mut inbox) = gateway_with_a_throttled_session().await;
    let error = || Direct {
        session: SessionId(1),
        event: Event::error(laicai_core::error::ErrorCode::InvalidMessageFormat, "bad"),
    };
    let alert = || Publish::alert(LogLevel::Warning, "the engine is not answering", "gw");
    assert_eq!(seqs(&mut inbox).await, vec![100]);
    registry.send(error()).await.unwrap();
    registry.send(alert()).await.unwrap();
    registry.send(error()).await.unwrap();
    assert_eq!(seqs(&mut inbox).await, vec![101, 102, 103]);
    relay_an_order(&registry, 100 + BUS_SEQ_STEP).await;
    for _ in 0..BUS_SEQ_STEP + 2 {
        registry.send(error()).await.unwrap();
    }
    let got = seqs(&mut inbox).await;
    let base = 100 + BUS_SEQ_STEP;
    let mut want: Vec<u64> = (base..base + BUS_SEQ_STEP).collect();
    // Past the gap: its last number again, never the engine's next.
    want.extend([base + BUS_SEQ_STEP - 1; 3]);
    assert_eq!(got, want);
}

/// The engine's `order_update` for ORD-1, relayed to the gateway as `seq`.
async fn relay_an_order(registry: &Addr<RegistryActor>, seq: u64) {
    let order =
        crate::storage::store::tests::order("ORD-1", laicai_core::order::OrderStatus::Open, "0");
    registry
        .send(relayed(seq, Event::OrderUpdate(order)))
        .await
        .unwrap();
}

/// A gateway's own alert that the engine is not answering.
fn engine_gone() -> Publish {
    Publish::alert(LogLevel::Error, "the engine is not answering", "gw")
}

/// Session 1's replay after seq 100: how many events, and the last seq.
async fn replay_after_100(registry: &Addr<RegistryActor>) -> (usize, u64) {
    registry
        .send(Replay {
            session: SessionId(1),
            since_seq: 100,
        })
        .await
        .unwrap()
        .unwrap()
}

/// A gateway's own alert is replayed with the engine's events around it:
/// clients count every event numbered inside a replay's range as one of
/// its events, so one they were sent but the replay skipped would let
/// them stop waiting one event short.
#[actix_rt::test]
async fn a_gateways_own_alert_is_replayed_in_order_with_the_engines_events() {
    let (registry, mut inbox) = gateway_with_a_throttled_session().await;
    assert_eq!(seqs(&mut inbox).await, vec![100]);
    registry.send(engine_gone()).await.unwrap();
    relay_an_order(&registry, 100 + BUS_SEQ_STEP).await;
    assert_eq!(seqs(&mut inbox).await, vec![101, 100 + BUS_SEQ_STEP]);
    let (count, upto) = replay_after_100(&registry).await;
    assert_eq!((count, upto), (2, 100 + BUS_SEQ_STEP));
    assert_eq!(seqs(&mut inbox).await, vec![101, 100 + BUS_SEQ_STEP]);
}

/// Past its gap a gateway's own alert repeats the gap's last `seq`; it is
/// replayed once, as clients hold one event a `seq`.
#[actix_rt::test]
async fn a_gateways_alert_that_repeats_a_seq_is_replayed_once() {
    let (registry, mut inbox) = gateway_with_a_throttled_session().await;
    assert_eq!(seqs(&mut inbox).await, vec![100]);
    for _ in 0..BUS_SEQ_STEP + 1 {
        registry.send(engine_gone()).await.unwrap();
    }
    let sent = seqs(&mut inbox).await;
    let last = 100 + BUS_SEQ_STEP - 1;
    assert_eq!(sent[sent.len() - 3..], [last, last, last]);
    let (count, upto) = replay_after_100(&registry).await;
    assert_eq!((count, upto), (BUS_SEQ_STEP as usize - 1, last));
    let replayed = seqs(&mut inbox).await;
    let distinct: std::collections::BTreeSet<u64> = replayed.iter().copied().collect();
    assert_eq!(replayed.len(), distinct.len(), "{replayed:?}");
}
