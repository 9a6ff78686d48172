//! laicai-peers: benchmarks of laicai against the engines users would
//! pick instead, on the same inputs in the same run. Run with
//! `cargo bench -p laicai-peers`; see BENCHMARKS.md. CI does not build
//! this package (its peers take minutes to compile).
