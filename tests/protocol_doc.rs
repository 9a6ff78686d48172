//! docs/PROTOCOL.md is the users' protocol reference: every command the
//! engine parses, every event kind it sends and every error code it
//! answers must be in it, each command and event with a JSON example, so
//! the document cannot fall behind the code.

use laicai_core::error::ErrorCode;
use laicai_core::protocol::commands::COMMANDS;
use laicai_core::wire::events::EventKind;

fn doc() -> String {
    std::fs::read_to_string("docs/PROTOCOL.md")
        .expect("docs/PROTOCOL.md")
        .replace("\": \"", "\":\"")
}

#[test]
fn every_command_has_an_example() {
    let doc = doc();
    let missing: Vec<&&str> = COMMANDS
        .iter()
        .filter(|c| !doc.contains(&format!("\"cmd\":\"{c}\"")))
        .collect();
    assert!(
        missing.is_empty(),
        "commands without an example in docs/PROTOCOL.md: {missing:?}"
    );
}

#[test]
fn every_event_kind_has_an_example() {
    let doc = doc();
    let missing: Vec<&str> = EventKind::ALL
        .iter()
        .map(|k| k.as_str())
        .filter(|k| !doc.contains(&format!("\"type\":\"{k}\"")))
        .collect();
    assert!(
        missing.is_empty(),
        "events without an example in docs/PROTOCOL.md: {missing:?}"
    );
}

#[test]
fn every_error_code_is_explained() {
    let doc = doc();
    let missing: Vec<&str> = ErrorCode::ALL
        .iter()
        .map(|c| c.as_str())
        .filter(|c| !doc.contains(&format!("| `{c}` |")))
        .collect();
    assert!(
        missing.is_empty(),
        "error codes missing from docs/PROTOCOL.md's table: {missing:?}"
    );
}
