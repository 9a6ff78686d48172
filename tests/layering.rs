//! Imports run one way. Each crate's top-level modules are put in layers,
//! lowest first; a module may use only modules of lower layers (and its
//! own submodules). This test reads every `crate::…` path of the sources
//! of `laicai-core`, `laicai-actors` and `laicai-client` and fails on an
//! import that goes up or sideways, and on a module no layer names.
//!
//! `cargo test --test layering -- --nocapture` prints the graph.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// `laicai-core`, lowest layer first.
const CORE: &[&[&str]] = &[
    &["enums"],
    &["num", "ids", "time", "error", "rng"],
    &["pair"],
    &["order", "order_book"],
    &["balance", "candles", "position", "feed", "matching", "tape"],
    &["auth", "backoff", "pnl"],
    // The wire types: events, views, channels, frame errors.
    &["wire"],
    // What every venue shares.
    &["venue"],
    &["strategy", "risk", "paper", "binance", "depth_stream"],
    &["backtest"],
    // Parsing what clients send, into all of the above.
    &["protocol"],
];

/// `laicai-actors`: from the storage and the registry every actor uses,
/// up to the session that talks to all of them.
const ACTORS: &[&[&str]] = &[
    // Histograms the outbox and the sessions record into.
    &["latency"],
    &["clock", "health", "outbox", "socket", "storage", "backtest"],
    &["registry"],
    &["order_book", "recorder", "agents", "backtests", "bus"],
    &["venue"],
    &["risk"],
    &["engine"],
    &["strategy"],
    &["session"],
];

/// Inside `laicai-actors`'s `venue`: the contract every venue speaks, the
/// directory of reachable venues, the venues, the supervisor of
/// connections.
const VENUE: &[&[&str]] = &[
    &["contract"],
    &["directory"],
    &["paper", "binance"],
    &["supervisor"],
];

/// `laicai-client`.
const SDK: &[&[&str]] = &[
    &["error", "sequencer", "config"],
    &["message"],
    &["client"],
    &["commands", "manager"],
];

/// Each top-level module under `src` and the modules of the same level its
/// code names with `prefix` (`crate::` for a crate's root, `crate::venue::`
/// for the `venue` folder).
fn imports(src: &Path, prefix: &str) -> BTreeMap<String, BTreeSet<String>> {
    let mut out: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut pending = vec![src.to_path_buf()];
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(&dir).expect("read_dir").flatten() {
            let path = entry.path();
            if path.is_dir() {
                pending.push(path);
                continue;
            }
            if path.extension().is_none_or(|e| e != "rs") {
                continue;
            }
            let rel = path.strip_prefix(src).expect("under src");
            let first = rel
                .components()
                .next()
                .map(|c| {
                    c.as_os_str()
                        .to_string_lossy()
                        .trim_end_matches(".rs")
                        .to_string()
                })
                .unwrap_or_default();
            if first == "lib" || first == "main" || first == "mod" {
                continue;
            }
            let text = std::fs::read_to_string(&path).expect("read");
            let entry = out.entry(first.clone()).or_default();
            for line in text.lines() {
                let code = line.split("//").next().unwrap_or_default();
                for (at, _) in code.match_indices(prefix) {
                    let name: String = code[at + prefix.len()..]
                        .chars()
                        .take_while(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '_')
                        .collect();
                    if !name.is_empty() && name != first {
                        entry.insert(name);
                    }
                }
            }
        }
    }
    out
}

/// The violations of `layers` in the crate at `src`, and its graph.
fn check(crate_name: &str, src: &str, prefix: &str, layers: &[&[&str]]) -> (Vec<String>, String) {
    let rank = |m: &str| layers.iter().position(|l| l.contains(&m));
    let graph = imports(Path::new(src), prefix);
    let mut bad = Vec::new();
    let mut shown = format!("{crate_name}\n");
    for (i, layer) in layers.iter().enumerate() {
        for m in *layer {
            let uses: Vec<&str> = graph
                .get(*m)
                .map(|s| s.iter().map(String::as_str).collect())
                .unwrap_or_default();
            shown.push_str(&format!("  {i} {m:<13} → {}\n", uses.join(", ")));
        }
    }
    for (module, uses) in &graph {
        let Some(mine) = rank(module) else {
            bad.push(format!(
                "{crate_name}: module `{module}` is in no layer: put it in one"
            ));
            continue;
        };
        for used in uses {
            match rank(used) {
                Some(theirs) if theirs < mine => {}
                Some(theirs) => bad.push(format!(
                    "{crate_name}: `{module}` (layer {mine}) imports `{used}` (layer {theirs}), which is not below it"
                )),
                None => {
                    // `crate::Decimal` and other re-exports at the root.
                    if used.chars().next().is_some_and(|c| c.is_ascii_lowercase()) {
                        bad.push(format!("{crate_name}: `{module}` imports `{used}`, which is in no layer"));
                    }
                }
            }
        }
    }
    (bad, shown)
}

#[test]
fn imports_go_down_the_layers_only() {
    let mut bad = Vec::new();
    for (name, src, prefix, layers) in [
        ("laicai-core", "core/src", "crate::", CORE),
        ("laicai-actors", "actors/src", "crate::", ACTORS),
        (
            "laicai-actors venue/",
            "actors/src/venue",
            "crate::venue::",
            VENUE,
        ),
        ("laicai-client", "sdk/src", "crate::", SDK),
    ] {
        let (b, shown) = check(name, src, prefix, layers);
        println!("{shown}");
        bad.extend(b);
    }
    assert!(
        bad.is_empty(),
        "imports against the layering:\n{}",
        bad.join("\n")
    );
}

/// The check itself catches what it is for.
#[test]
fn an_upward_import_is_caught() {
    let dir = std::env::temp_dir().join(format!("laicai-layering-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("high")).unwrap();
    std::fs::write(
        dir.join("low.rs"),
        "use crate::high::Thing;\n// crate::ignored::in_comments\n",
    )
    .unwrap();
    std::fs::write(dir.join("high/mod.rs"), "use crate::low::Other;\n").unwrap();
    std::fs::write(dir.join("stray.rs"), "").unwrap();
    let (bad, _) = check(
        "t",
        dir.to_str().unwrap(),
        "crate::",
        &[&["low"], &["high"]],
    );
    assert_eq!(
        bad,
        [
            "t: `low` (layer 0) imports `high` (layer 1), which is not below it",
            "t: module `stray` is in no layer: put it in one",
        ]
    );
    let _ = std::fs::remove_dir_all(&dir);
}
