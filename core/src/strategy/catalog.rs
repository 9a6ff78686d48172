//! What each strategy type's config fields mean (`get_strategy_types`):
//! read from the documented files `configs/<type>.toml`, compiled in, so
//! the file a user reads and the form a client shows say the same thing.
//! Which fields are required, and the defaults, come from the code.

use super::{StrategyParams, StrategyType};
use serde::Serialize;
use serde_json::{Map, Value};

const FILES: [(StrategyType, &str); 3] = [
    (StrategyType::Pmm, include_str!("../../../configs/pmm.toml")),
    (
        StrategyType::Grid,
        include_str!("../../../configs/grid.toml"),
    ),
    (
        StrategyType::Twap,
        include_str!("../../../configs/twap.toml"),
    ),
];

/// One strategy type, as `get_strategy_types` shows it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct StrategyTypeDoc {
    pub strategy_type: StrategyType,
    /// The file's opening paragraph.
    pub description: String,
    pub fields: Vec<FieldDoc>,
}

/// One config field.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct FieldDoc {
    pub name: String,
    /// `decimal` (a number or numeric string), `integer`, `number`,
    /// `boolean` or `string`.
    pub kind: &'static str,
    /// The value the strategy takes when the field is left out; `null`
    /// for a required or optional field.
    pub default: Value,
    /// The value the file shows, for a field without a default.
    pub example: Value,
    pub required: bool,
    pub doc: String,
}

/// Every strategy type a client may create, documented.
pub fn strategy_types() -> Vec<StrategyTypeDoc> {
    FILES
        .iter()
        .map(|(kind, text)| document(*kind, text))
        .collect()
}

/// A documented file's fields: each `key = value` line (or a commented
/// `# key = value`, an optional field) with the comment block above it;
/// consecutive keys share one block.
fn parse_file(text: &str) -> (String, Vec<(String, Value, bool, String)>) {
    let mut lines = text.lines().peekable();
    let mut description = Vec::new();
    while let Some(line) = lines.next_if(|l| l.starts_with('#')) {
        let t = line.trim_start_matches('#').trim();
        if t.is_empty() {
            break;
        }
        description.push(t);
    }
    let mut fields = Vec::new();
    let mut doc: Vec<&str> = Vec::new();
    let mut doc_taken = false;
    for line in lines {
        let line = line.trim();
        if line.is_empty() {
            doc.clear();
            doc_taken = false;
            continue;
        }
        let (commented, body) = match line.strip_prefix('#') {
            Some(rest) => (true, rest.trim()),
            None => (false, line),
        };
        match key_value(body) {
            Some((key, value)) => {
                fields.push((key.to_string(), value, commented, doc.join(" ")));
                doc_taken = true;
            }
            None if commented => {
                if doc_taken {
                    doc.clear();
                    doc_taken = false;
                }
                doc.push(body);
            }
            None => {}
        }
    }
    (description.join(" "), fields)
}

/// `key = value` with a TOML scalar value.
fn key_value(line: &str) -> Option<(&str, Value)> {
    let (key, value) = line.split_once('=')?;
    let key = key.trim();
    if key.is_empty() || !key.chars().all(|c| c.is_ascii_lowercase() || c == '_') {
        return None;
    }
    let value = value.trim();
    let parsed = if let Some(s) = value.strip_prefix('"').and_then(|v| v.strip_suffix('"')) {
        Value::String(s.to_string())
    } else if let Ok(b) = value.parse::<bool>() {
        Value::Bool(b)
    } else if let Ok(i) = value.parse::<i64>() {
        Value::from(i)
    } else {
        serde_json::Number::from_f64(value.parse::<f64>().ok()?).map(Value::Number)?
    };
    Some((key, parsed))
}

fn kind_of(v: &Value) -> &'static str {
    match v {
        Value::String(s) if s.parse::<rust_decimal::Decimal>().is_ok() => "decimal",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_i64() => "integer",
        Value::Number(_) => "number",
        _ => "string",
    }
}

fn document(kind: StrategyType, text: &str) -> StrategyTypeDoc {
    let (description, fields) = parse_file(text);
    let example: Map<String, Value> = fields
        .iter()
        .filter(|(_, _, commented, _)| !commented)
        .map(|(k, v, _, _)| (k.clone(), v.clone()))
        .collect();
    let defaults = StrategyParams::parse(kind, &Value::Null)
        .ok()
        .map(|p| p.to_json());
    let fields = fields
        .into_iter()
        .map(|(name, value, commented, doc)| {
            // Required: the file's example config without it is refused
            // for it.
            let mut without = example.clone();
            without.remove(&name);
            let required = StrategyParams::parse(kind, &Value::Object(without))
                .is_err_and(|e| e.field == format!("config.{name}"));
            let default = match (&defaults, required || commented) {
                (Some(d), false) => d.get(&name).cloned().unwrap_or(Value::Null),
                (None, false) => value.clone(),
                _ => Value::Null,
            };
            FieldDoc {
                kind: kind_of(&value),
                example: if default.is_null() {
                    value
                } else {
                    Value::Null
                },
                default,
                required,
                doc,
                name,
            }
        })
        .collect();
    StrategyTypeDoc {
        strategy_type: kind,
        description,
        fields,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field<'a>(t: &'a StrategyTypeDoc, name: &str) -> &'a FieldDoc {
        t.fields
            .iter()
            .find(|f| f.name == name)
            .unwrap_or_else(|| panic!("no field {name}"))
    }

    #[test]
    fn every_field_of_every_type_is_documented_with_the_codes_default() {
        for t in strategy_types() {
            assert!(!t.description.is_empty(), "{}", t.strategy_type);
            let config = StrategyParams::parse(
                t.strategy_type,
                &Value::Object(
                    t.fields
                        .iter()
                        .filter(|f| f.required)
                        .map(|f| (f.name.clone(), f.example.clone()))
                        .collect(),
                ),
            )
            .unwrap_or_else(|e| panic!("{}: {e}", t.strategy_type));
            let full = config.to_json();
            let Value::Object(all) = &full else {
                panic!("config is an object")
            };
            for name in all.keys() {
                let f = field(&t, name);
                assert!(!f.doc.is_empty(), "{}.{name} has no doc", t.strategy_type);
            }
            for f in &t.fields {
                assert!(all.contains_key(&f.name), "{} is not a field", f.name);
                if !f.default.is_null() {
                    assert_eq!(f.default, full[&f.name], "{}.{}", t.strategy_type, f.name);
                }
            }
        }
    }

    #[test]
    fn required_optional_and_defaults_come_out_right() {
        let types = strategy_types();
        let pmm = &types[0];
        let spread = field(pmm, "bid_spread");
        assert_eq!((spread.kind, spread.required), ("decimal", false));
        assert!(spread.doc.starts_with("Distance of the first bid / ask"));
        // ask_spread shares bid_spread's comment.
        assert_eq!(field(pmm, "ask_spread").doc, spread.doc);
        assert_eq!(field(pmm, "order_levels").kind, "integer");
        assert_eq!(field(pmm, "inventory_skew_enabled").kind, "boolean");
        let grid = &types[1];
        let lower = field(grid, "lower_price");
        assert!(lower.required && lower.default.is_null());
        assert_eq!(lower.example, Value::String("50000".into()));
        assert!(!field(grid, "grid_levels").required);
        let twap = &types[2];
        let limit = field(twap, "limit_price");
        assert!(!limit.required && limit.default.is_null());
        assert!(limit.doc.starts_with("Optional"), "{}", limit.doc);
        assert_eq!(field(twap, "side").kind, "string");
        assert!(field(twap, "total_size").required);
    }

    #[test]
    fn the_parser_reads_blocks_and_commented_fields() {
        let (desc, fields) = parse_file(
            "# Intro one.\n# two.\n#\n#   {\"example\": 1}\n\n# A.\na = 1\nb = \"x\"\n\n# C.\n# c = 2.5\n# D.\nd = true\n",
        );
        assert_eq!(desc, "Intro one. two.");
        let got: Vec<(&str, bool, &str)> = fields
            .iter()
            .map(|(k, _, c, d)| (k.as_str(), *c, d.as_str()))
            .collect();
        assert_eq!(
            got,
            [
                ("a", false, "A."),
                ("b", false, "A."),
                ("c", true, "C."),
                ("d", false, "D.")
            ]
        );
    }
}
