//! Typed access to a command's parameters, each error naming its field.

use super::{decimal_of, invalid, CommandError};
use crate::pair::Symbol;
use crate::venue::{OrderFilter, VenueRef};
use rust_decimal::Decimal;
use serde_json::{Map, Value};
use std::str::FromStr;

/// Typed access to a command's parameters; every error names its field.
pub(super) struct Params<'a>(pub(super) &'a Map<String, Value>);

impl<'a> Params<'a> {
    pub(super) fn get(&self, field: &str) -> Option<&'a Value> {
        self.0.get(field).filter(|v| !v.is_null())
    }

    pub(super) fn opt_str(&self, field: &str) -> Result<Option<&'a str>, CommandError> {
        match self.get(field) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.as_str())),
            Some(_) => Err(invalid(field, "must be a string")),
        }
    }

    pub(super) fn str(&self, field: &str) -> Result<&'a str, CommandError> {
        self.opt_str(field)?
            .ok_or_else(|| invalid(field, "is required"))
    }

    pub(super) fn opt_string(&self, field: &str) -> Result<Option<String>, CommandError> {
        Ok(self.opt_str(field)?.map(str::to_string))
    }

    pub(super) fn opt_parse<T: FromStr<Err = String>>(
        &self,
        field: &str,
    ) -> Result<Option<T>, CommandError> {
        self.opt_str(field)?
            .map(|s| T::from_str(s).map_err(|e| invalid(field, e)))
            .transpose()
    }

    pub(super) fn opt_symbol(&self, field: &str) -> Result<Option<Symbol>, CommandError> {
        self.opt_str(field)?
            .map(|s| Symbol::parse(s).map_err(|e| invalid(field, e.to_string())))
            .transpose()
    }

    pub(super) fn opt_bool(&self, field: &str) -> Result<Option<bool>, CommandError> {
        match self.get(field) {
            None => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(_) => Err(invalid(field, "must be true or false")),
        }
    }

    pub(super) fn opt_count(&self, field: &str, max: u64) -> Result<Option<usize>, CommandError> {
        match self.get(field) {
            None => Ok(None),
            Some(v) => match v.as_u64() {
                Some(n) if n >= 1 && n <= max => Ok(Some(n as usize)),
                _ => Err(invalid(
                    field,
                    format!("must be a whole number from 1 to {max}"),
                )),
            },
        }
    }

    /// A strictly positive exact decimal, from a JSON number or a numeric string.
    pub(super) fn opt_positive(&self, field: &str) -> Result<Option<Decimal>, CommandError> {
        let d = self.opt_decimal(field)?;
        if d.is_some_and(|d| d <= Decimal::ZERO) {
            return Err(invalid(field, "must be greater than zero"));
        }
        Ok(d)
    }

    /// An exact decimal, from a JSON number or a numeric string.
    pub(super) fn opt_decimal(&self, field: &str) -> Result<Option<Decimal>, CommandError> {
        self.get(field)
            .map(|v| decimal_of(v).map_err(|e| invalid(field, e)))
            .transpose()
    }

    pub(super) fn filter(&self) -> Result<OrderFilter, CommandError> {
        Ok(OrderFilter {
            symbol: self.opt_symbol("symbol")?,
            status: self.opt_parse("status")?,
            strategy: self.opt_string("strategy")?,
            exchange: None,
            limit: self.opt_count("limit", 100_000)?,
            since_ms: self.opt_time_ms("start_time")?,
            until_ms: self.opt_time_ms("end_time")?,
        })
    }

    /// The venue a command names: `exchange`, `connection_id`, both or
    /// neither.
    pub(super) fn venue(&self) -> Result<VenueRef, CommandError> {
        Ok(VenueRef {
            exchange: self.opt_string("exchange")?,
            connection_id: self.opt_string("connection_id")?,
        })
    }

    /// Milliseconds since the epoch, a whole non-negative number.
    pub(super) fn opt_time_ms(&self, field: &str) -> Result<Option<i64>, CommandError> {
        match self.get(field) {
            None => Ok(None),
            Some(v) => match v.as_i64() {
                Some(t) if t >= 0 => Ok(Some(t)),
                _ => Err(invalid(
                    field,
                    "must be milliseconds since 1970-01-01 UTC (a whole number)",
                )),
            },
        }
    }
}
