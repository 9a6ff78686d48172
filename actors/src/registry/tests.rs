use super::*;

#[test]
fn the_stored_seq_ceiling_stays_ahead_of_every_seq_handed_out() {
    let db = temp_db("seq");
    let store = crate::storage::Store::open(&db).unwrap();
    let storage = crate::storage::StorageActor::start(store, 64).unwrap();
    // As a restart leaves it: numbering from the last ceiling, the
    // next one a lease ahead.
    let start = 7 * SEQ_LEASE;
    let mut seq = SeqCounter {
        relayed: false,
        seq: start,
        lease: Some((storage.clone(), start + SEQ_LEASE)),
    };
    let mut last = start;
    for _ in 0..(2 * SEQ_LEASE) {
        let next = seq.next();
        assert_eq!(next, last + 1);
        last = next;
    }
    // Wait for every queued write, then read what a restart would.
    let (tx, rx) = std::sync::mpsc::channel();
    storage.write(Vec::new(), Some(Box::new(move |r| tx.send(r).unwrap())));
    rx.recv().unwrap().unwrap();
    let stored = crate::storage::Store::open(&db).unwrap().seq().unwrap();
    assert!(
        stored > last,
        "stored ceiling {stored} is not above seq {last}"
    );
    assert!(stored <= last + SEQ_LEASE);
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
    let ring: CarriedRing = storage
        .read(|s| s.get(Kind::Stream, CARRIED_RING_KEY))
        .await
        .unwrap()
        .expect("a carried ring");
    let seqs: Vec<u64> = ring.frames.iter().map(|f| f.0).collect();
    assert_eq!(seqs, [501, 502], "{ring:?}");
    assert_eq!(ring.dropped_upto, 500);
    assert!(ring.frames[1].3.contains("after"));
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
