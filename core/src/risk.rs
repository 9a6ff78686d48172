//! `RiskLimits`: pre-trade checks every order passes before it reaches an
//! exchange. This is the risk stage of the order pipeline; the full risk
//! manager (positions, open orders, daily loss, kill switch) grows here.

use crate::order::{OrderRequest, OrderType};
use rust_decimal::Decimal;
use serde::Deserialize;

#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RiskLimits {
    /// Largest size of one order, in base units.
    #[serde(with = "crate::num::opt", default)]
    pub max_order_size: Option<Decimal>,
    /// Largest price × size of one limit order, in quote units.
    #[serde(with = "crate::num::opt", default)]
    pub max_order_notional: Option<Decimal>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RiskViolation {
    #[error("order size {size} exceeds the limit {limit}")]
    OrderSize { size: Decimal, limit: Decimal },
    #[error("order notional {notional} exceeds the limit {limit}")]
    OrderNotional { notional: Decimal, limit: Decimal },
}

impl RiskLimits {
    pub fn check(&self, req: &OrderRequest) -> Result<(), RiskViolation> {
        if let Some(limit) = self.max_order_size {
            if req.size > limit {
                return Err(RiskViolation::OrderSize {
                    size: req.size,
                    limit,
                });
            }
        }
        if let (Some(limit), OrderType::Limit, Some(price)) =
            (self.max_order_notional, req.order_type, req.price)
        {
            let notional = price * req.size;
            if notional > limit {
                return Err(RiskViolation::OrderNotional { notional, limit });
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::order::{Side, TimeInForce};
    use crate::pair::Symbol;

    #[test]
    fn limits_size_and_notional() {
        let req = OrderRequest {
            symbol: Symbol::parse("BTC-USDT").unwrap(),
            side: Side::Buy,
            order_type: OrderType::Limit,
            size: Decimal::from(2),
            price: Some(Decimal::from(100)),
            time_in_force: TimeInForce::Gtc,
            post_only: false,
            client_order_id: None,
            exchange: None,
            strategy: None,
        };
        assert!(RiskLimits::default().check(&req).is_ok());
        let size = RiskLimits {
            max_order_size: Some(Decimal::ONE),
            ..Default::default()
        };
        assert!(matches!(
            size.check(&req),
            Err(RiskViolation::OrderSize { .. })
        ));
        let notional = RiskLimits {
            max_order_notional: Some(Decimal::from(150)),
            ..Default::default()
        };
        assert!(matches!(
            notional.check(&req),
            Err(RiskViolation::OrderNotional { .. })
        ));
    }
}
