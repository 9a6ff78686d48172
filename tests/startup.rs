//! Starting the real binary with something wrong: one clear line on
//! stderr, a non-zero exit, and never a panic.

mod common;

use common::temp_dir;
use std::process::Command;

fn run(args: &[&str]) -> (i32, String) {
    run_in(&temp_dir("startup"), args)
}

/// Runs the binary with `state` as its state directory.
fn run_in(state: &std::path::Path, args: &[&str]) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_laicai"))
        .args(args)
        .env("RUST_LOG", "off")
        .env("LAICAI_STATE_DIR", state)
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

#[test]
fn a_corrupt_or_unwritable_database_stops_the_start_with_a_reason() {
    // Not a database: refused, and the file is left as it was.
    let state = temp_dir("corrupt");
    let db = state.join("laicai.db");
    let junk = vec![0x42u8; 16384];
    std::fs::write(&db, &junk).unwrap();
    let (code, stderr) = run_in(&state, &["--bind", "127.0.0.1:0"]);
    assert_eq!(code, 1, "{stderr}");
    assert!(
        stderr.contains("is not a laicai database or is corrupt"),
        "{stderr}"
    );
    assert!(stderr.contains("laicai.db"), "{stderr}");
    assert_eq!(std::fs::read(&db).unwrap(), junk, "the file is untouched");

    // Written by a newer laicai: refused.
    let state = temp_dir("newer");
    let db = state.join("laicai.db");
    rusqlite::Connection::open(&db)
        .and_then(|c| c.pragma_update(None, "user_version", 999))
        .unwrap();
    let (code, stderr) = run_in(&state, &["--bind", "127.0.0.1:0"]);
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("schema version 999"), "{stderr}");

    // A state directory that cannot be created (a file is in the way).
    let blocked = temp_dir("blocked").join("file");
    std::fs::write(&blocked, "x").unwrap();
    let (code, stderr) = run_in(&blocked.join("state"), &["--bind", "127.0.0.1:0"]);
    assert_eq!(code, 1, "{stderr}");
    assert!(
        stderr.contains("cannot create the state directory"),
        "{stderr}"
    );
}

/// Two engines on one database would both trade its account: the second
/// is refused, naming the first; once the first is gone (however it
/// went) the database is free again.
#[actix_rt::test]
async fn a_second_engine_on_the_same_database_is_refused() {
    let dir = temp_dir("two-engines");
    let state = dir.join("state");
    let first = common::EngineProcess::start_in(&dir, &state, "", &common::free_addr()).await;
    let mut second = Command::new(env!("CARGO_BIN_EXE_laicai"))
        .args(["--bind", "127.0.0.1:0"])
        .env("RUST_LOG", "off")
        .env("LAICAI_STATE_DIR", &state)
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("run laicai");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    let code = loop {
        if let Some(status) = second.try_wait().expect("wait for laicai") {
            break status.code().unwrap_or(-1);
        }
        if std::time::Instant::now() > deadline {
            let _ = second.kill();
            panic!("a second engine on the same database started");
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    };
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut second.stderr.take().expect("stderr"), &mut stderr)
        .expect("read stderr");
    assert_eq!(code, 1, "{stderr}");
    assert!(
        stderr.contains("is in use by another laicai engine (pid "),
        "{stderr}"
    );
    first.kill9();
    let again = common::EngineProcess::start_in(&dir, &state, "", &common::free_addr()).await;
    drop(again);
}
