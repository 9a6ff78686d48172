//! `Balances`: one account's assets, each split into free and used
//! (reserved for open orders). No operation lets either part go negative.

use rust_decimal::Decimal;
use std::collections::BTreeMap;

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Balance {
    #[serde(with = "crate::num::text")]
    pub free: Decimal,
    #[serde(with = "crate::num::text")]
    pub used: Decimal,
}

impl Balance {
    pub fn total(&self) -> Decimal {
        self.free + self.used
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BalanceError {
    #[error("insufficient {asset}: need {needed}, free {available}")]
    Insufficient {
        asset: String,
        needed: Decimal,
        available: Decimal,
    },
    #[error("{asset}: cannot release {amount} of {used} reserved")]
    OverRelease {
        asset: String,
        amount: Decimal,
        used: Decimal,
    },
    #[error("{asset}: amount {amount} must not be negative")]
    Negative { asset: String, amount: Decimal },
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct Balances {
    assets: BTreeMap<String, Balance>,
}

impl Balances {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn get(&self, asset: &str) -> Balance {
        self.assets.get(asset).copied().unwrap_or_default()
    }

    /// Balances exactly as they were (restored from storage).
    pub fn restore(assets: BTreeMap<String, Balance>) -> Self {
        Balances { assets }
    }

    pub fn iter(&self) -> impl Iterator<Item = (&String, &Balance)> {
        self.assets.iter()
    }

    fn entry(&mut self, asset: &str) -> &mut Balance {
        self.assets.entry(asset.to_string()).or_default()
    }

    fn non_negative(asset: &str, amount: Decimal) -> Result<(), BalanceError> {
        if amount < Decimal::ZERO {
            return Err(BalanceError::Negative {
                asset: asset.to_string(),
                amount,
            });
        }
        Ok(())
    }

    /// Adds to free (a deposit, or what a fill brings in).
    pub fn credit(&mut self, asset: &str, amount: Decimal) -> Result<(), BalanceError> {
        Self::non_negative(asset, amount)?;
        self.entry(asset).free += amount;
        Ok(())
    }

    /// Moves `amount` from free to used for an order.
    pub fn reserve(&mut self, asset: &str, amount: Decimal) -> Result<(), BalanceError> {
        Self::non_negative(asset, amount)?;
        let b = self.entry(asset);
        if b.free < amount {
            return Err(BalanceError::Insufficient {
                asset: asset.to_string(),
                needed: amount,
                available: b.free,
            });
        }
        b.free -= amount;
        b.used += amount;
        Ok(())
    }

    /// Settles part of a reservation: `release` leaves used, of which
    /// `spend` leaves the account and the rest returns to free.
    pub fn settle(
        &mut self,
        asset: &str,
        release: Decimal,
        spend: Decimal,
    ) -> Result<(), BalanceError> {
        Self::non_negative(asset, spend)?;
        Self::non_negative(asset, release)?;
        let b = self.entry(asset);
        if release > b.used || spend > release {
            return Err(BalanceError::OverRelease {
                asset: asset.to_string(),
                amount: release.max(spend),
                used: b.used,
            });
        }
        b.used -= release;
        b.free += release - spend;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;

    fn d(s: &str) -> Decimal {
        Decimal::from_str(s).unwrap()
    }

    #[test]
    fn reserve_settle_and_release_are_exact() {
        let mut b = Balances::new();
        b.credit("USDT", d("1000")).unwrap();
        b.reserve("USDT", d("520.52")).unwrap();
        assert_eq!(
            b.get("USDT"),
            Balance {
                free: d("479.48"),
                used: d("520.52")
            }
        );
        // Half the order fills at a better price: 260.26 released, 250.25 spent.
        b.settle("USDT", d("260.26"), d("250.25")).unwrap();
        assert_eq!(
            b.get("USDT"),
            Balance {
                free: d("489.49"),
                used: d("260.26")
            }
        );
        // Cancel the rest: released, nothing spent.
        b.settle("USDT", d("260.26"), Decimal::ZERO).unwrap();
        assert_eq!(
            b.get("USDT"),
            Balance {
                free: d("749.75"),
                used: Decimal::ZERO
            }
        );
        assert_eq!(b.get("USDT").total(), d("1000") - d("250.25"));
    }

    #[test]
    fn refuses_what_would_go_negative() {
        let mut b = Balances::new();
        b.credit("BTC", d("1")).unwrap();
        assert!(matches!(
            b.reserve("BTC", d("1.1")),
            Err(BalanceError::Insufficient { .. })
        ));
        assert_eq!(b.get("BTC").free, d("1"));
        b.reserve("BTC", d("0.5")).unwrap();
        assert!(b.settle("BTC", d("0.6"), d("0.6")).is_err());
        assert!(b.settle("BTC", d("0.1"), d("0.2")).is_err());
        assert!(b.credit("BTC", d("-1")).is_err());
        assert!(b.reserve("ETH", d("0.1")).is_err());
        assert_eq!(
            b.get("BTC"),
            Balance {
                free: d("0.5"),
                used: d("0.5")
            }
        );
    }
}
