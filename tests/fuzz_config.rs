//! Fuzzing the config file: the documented defaults (configs/default.toml)
//! with values replaced by anything TOML can say (huge and negative
//! numbers, floats where integers go, strings, arrays, tables), lines
//! dropped or repeated, and random text. Loading must answer a config or
//! an error that names the file, never panic. `PROPTEST_CASES` sets the
//! number of cases (256 by default; a long run:
//! `PROPTEST_CASES=100000 cargo test --release --test fuzz_config`).

use laicai::config::Config;
use proptest::prelude::*;

const DEFAULTS: &str = include_str!("../configs/default.toml");

fn toml_value() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<i64>().prop_map(|n| n.to_string()),
        any::<f64>().prop_map(|f| format!("{f:?}")),
        Just("1e400".to_string()),
        Just("-0".to_string()),
        Just("nan".to_string()),
        Just("inf".to_string()),
        Just("true".to_string()),
        Just("\"\"".to_string()),
        Just("\"0.000000000000000000000000000001\"".to_string()),
        Just("\"123456789012345678901234567890\"".to_string()),
        Just("\"BTC-USDT\"".to_string()),
        Just("[]".to_string()),
        Just("[1, \"a\", 2.5]".to_string()),
        Just("{ a = 1 }".to_string()),
        "\"[ -~]{0,20}\"".prop_map(|s| s.replace('\\', "")),
        "[ -~]{0,12}",
    ]
}

#[derive(Clone, Debug)]
enum Edit {
    Value(usize, String),
    Drop(usize),
    Repeat(usize),
}

fn edit() -> impl Strategy<Value = Edit> {
    prop_oneof![
        4 => (any::<usize>(), toml_value()).prop_map(|(i, v)| Edit::Value(i, v)),
        1 => any::<usize>().prop_map(Edit::Drop),
        1 => any::<usize>().prop_map(Edit::Repeat),
    ]
}

/// The defaults' lines, each `key = value` line a candidate for an edit.
fn edited(edits: &[Edit]) -> String {
    let mut lines: Vec<String> = DEFAULTS.lines().map(str::to_string).collect();
    let settings: Vec<usize> = (0..lines.len())
        .filter(|&i| !lines[i].starts_with('#') && lines[i].contains(" = "))
        .collect();
    for e in edits {
        let pick = |i: &usize| settings[i % settings.len()];
        match e {
            Edit::Value(i, v) => {
                let at = pick(i);
                if let Some((key, _)) = lines[at].split_once(" = ") {
                    lines[at] = format!("{key} = {v}");
                }
            }
            Edit::Drop(i) => lines[pick(i)].clear(),
            Edit::Repeat(i) => {
                let at = pick(i);
                let line = lines[at].clone();
                lines.insert(at, line);
            }
        }
    }
    lines.join("\n")
}

fn load(text: &str) {
    if let Err(e) = Config::from_layers(&[("fuzz.toml", text)]) {
        let said = e.to_string();
        assert!(!said.is_empty());
    }
}

proptest! {
    #[test]
    fn an_edited_default_config_loads_or_is_refused_never_panics(
        edits in prop::collection::vec(edit(), 1..5),
    ) {
        load(&edited(&edits));
    }

    #[test]
    fn random_text_as_a_config_never_panics(text in "[ -~\n]{0,400}") {
        load(&text);
    }
}

#[test]
fn the_defaults_as_written_load() {
    Config::from_layers(&[("default.toml", DEFAULTS)]).expect("the documented defaults load");
    assert!(edited(&[]).contains("[server]"));
}
