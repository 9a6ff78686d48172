//! Starting the real binary with something wrong: one clear line on
//! stderr, a non-zero exit, and never a panic.

use std::process::Command;

fn run(args: &[&str]) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_laicai"))
        .args(args)
        .env("RUST_LOG", "off")
        .output()
        .expect("run laicai");
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(!stderr.contains("panicked"), "laicai panicked: {stderr}");
    (out.status.code().unwrap_or(-1), stderr)
}

#[test]
fn a_busy_port_is_a_clear_error() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let (code, stderr) = run(&["--bind", &addr]);
    assert_eq!(code, 1, "{stderr}");
    assert!(
        stderr.contains(&format!("cannot listen on {addr}")),
        "{stderr}"
    );
}

#[test]
fn a_bad_config_names_the_field() {
    let dir = std::env::temp_dir().join(format!("laicai-startup-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    for (text, field) in [
        ("[paper]\nmaker_fee = \"lots\"\n", "paper.maker_fee"),
        ("[paper.balances]\nUSDT = \"-5\"\n", "paper.balances.USDT"),
        ("[server]\nbindd = \"x\"\n", "bindd"),
    ] {
        let path = dir.join("bad.toml");
        std::fs::write(&path, text).unwrap();
        let (code, stderr) = run(&["--config", path.to_str().unwrap()]);
        assert_eq!(code, 2, "{stderr}");
        assert!(
            stderr.contains(field),
            "error for {text:?} should name {field}: {stderr}"
        );
    }
    let (code, stderr) = run(&["--bind", "nowhere"]);
    assert_eq!(code, 2);
    assert!(stderr.contains("server.bind"), "{stderr}");
    let _ = std::fs::remove_dir_all(dir);
}
