//! `laicai backtest` and `laicai sample-data` as a user runs them: the
//! README's example on the shipped sample data, byte-identical reports
//! from the same inputs, and bad rows named by file and line.

mod common;

use common::temp_dir;
use serde_json::Value;
use std::process::{Command, Output};

fn laicai(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_laicai"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("run laicai")
}

const TRADES: &str = "data/sample/BTCUSDT-trades-2025-01-01.csv.gz";

#[test]
fn the_readme_example_runs_and_the_same_inputs_give_the_same_bytes() {
    let a = temp_dir("bt-a");
    let b = temp_dir("bt-b");
    for out in [&a, &b] {
        let o = laicai(&[
            "backtest",
            "--strategy",
            "configs/pmm.toml",
            "--data",
            TRADES,
            "--out",
            out.to_str().unwrap(),
        ]);
        let stdout = String::from_utf8_lossy(&o.stdout);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        assert!(stdout.contains("max drawdown"), "{stdout}");
        // The progress bar reached the end.
        assert!(String::from_utf8_lossy(&o.stderr).contains("100%"));
    }
    let ra = std::fs::read(a.join("report.json")).unwrap();
    let rb = std::fs::read(b.join("report.json")).unwrap();
    assert_eq!(ra, rb, "byte-identical");
    let report: Value = serde_json::from_slice(&ra).unwrap();
    assert!(report["trades"].as_u64().unwrap() > 100, "{report}");
    assert!(report["equity_curve"].as_array().unwrap().len() > 100);
    let svg = std::fs::read_to_string(a.join("equity.svg")).unwrap();
    assert!(
        svg.starts_with("<svg") && svg.contains("<polyline"),
        "{svg}"
    );
}

#[test]
fn sample_data_is_regenerated_byte_for_byte() {
    let dir = temp_dir("bt-sample");
    let o = laicai(&["sample-data", "--out", dir.to_str().unwrap()]);
    assert!(o.status.success());
    for name in [
        "BTCUSDT-trades-2025-01-01.csv.gz",
        "BTCUSDT-1m-2025-01.csv.gz",
    ] {
        let shipped = std::fs::read(format!("{}/data/sample/{name}", env!("CARGO_MANIFEST_DIR")));
        let fresh = std::fs::read(dir.join(name)).unwrap();
        assert_eq!(
            shipped.unwrap(),
            fresh,
            "{name} differs from the shipped file"
        );
    }
}

#[test]
fn a_malformed_row_is_named_by_file_and_line() {
    let dir = temp_dir("bt-bad");
    let bad = dir.join("bad.csv");
    std::fs::write(
        &bad,
        "id,price,qty,quote_qty,time,is_buyer_maker\n1,100,1,100,5,true\n2,100,1,100,6,sometimes\n",
    )
    .unwrap();
    let o = laicai(&[
        "backtest",
        "--strategy",
        "configs/pmm.toml",
        "--data",
        bad.to_str().unwrap(),
        "--out",
        dir.join("r").to_str().unwrap(),
    ]);
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    let expected = format!("laicai: {}:3: is_buyer_maker", bad.display());
    assert!(err.lines().any(|l| l.starts_with(&expected)), "{err}");
    assert!(!dir.join("r").exists(), "no report from bad data");
}
