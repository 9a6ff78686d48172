//! `StateView`: the client-visible state rebuilt from the event stream
//! alone (system status, open orders, positions, balances). The registry
//! applies every event to it in `seq` order, so a `snapshot` taken from it
//! reflects exactly the events up to its `seq`.

use super::events::*;
use rust_decimal::Decimal;
use std::collections::{BTreeMap, HashMap};

#[derive(Clone, Debug)]
pub struct StateView {
    system: SystemStatus,
    /// Open orders by arrival, with an index from (exchange, id).
    orders: BTreeMap<u64, OrderView>,
    order_index: HashMap<(String, String), u64>,
    next_order: u64,
    positions: BTreeMap<(String, String, Option<String>), PositionView>,
    balances: BTreeMap<(String, String), BalanceView>,
    strategies: BTreeMap<String, StrategyView>,
    connections: BTreeMap<String, ConnectionView>,
}

impl Default for StateView {
    fn default() -> Self {
        StateView {
            system: SystemStatus {
                uptime: 0,
                bot_status: BotStatus::Stopped,
                active_strategies: 0,
                total_profit: Decimal::ZERO,
                total_trades: 0,
                success_rate: Decimal::ZERO,
                degraded: None,
            },
            orders: BTreeMap::new(),
            order_index: HashMap::new(),
            next_order: 0,
            positions: BTreeMap::new(),
            balances: BTreeMap::new(),
            strategies: BTreeMap::new(),
            connections: BTreeMap::new(),
        }
    }
}

impl StateView {
    /// The view a `snapshot` was taken from (a gateway starts from the
    /// engine's): its snapshot is `s` again.
    pub fn from_snapshot(s: &Snapshot) -> Self {
        let mut v = StateView::default();
        v.apply(&Event::SystemStatus(s.system.clone()));
        let events = (s.strategies.iter().cloned().map(Event::Strategy))
            .chain(s.orders.iter().cloned().map(Event::OrderUpdate))
            .chain(s.positions.iter().cloned().map(Event::Position))
            .chain(s.balances.iter().cloned().map(Event::Balance))
            .chain(s.connections.iter().cloned().map(Event::Connection));
        for e in events {
            v.apply(&e);
        }
        v
    }

    pub fn apply(&mut self, event: &Event) {
        match event {
            Event::SystemStatus(s) => self.system = s.clone(),
            Event::Connected {} => self.system.bot_status = BotStatus::Running,
            Event::Disconnected { .. } => self.system.bot_status = BotStatus::Stopped,
            Event::OrderUpdate(o) => {
                let key = (o.exchange.clone(), o.order_id.clone());
                if o.status.is_terminal() {
                    if let Some(slot) = self.order_index.remove(&key) {
                        self.orders.remove(&slot);
                    }
                } else {
                    let slot = *self.order_index.entry(key).or_insert_with(|| {
                        self.next_order += 1;
                        self.next_order
                    });
                    self.orders.insert(slot, o.clone());
                }
            }
            Event::Position(p) => {
                let key = (p.exchange.clone(), p.symbol.clone(), p.strategy_id.clone());
                self.positions.insert(key, p.clone());
            }
            Event::Strategy(st) if st.status == StrategyStatus::Deleted => {
                self.strategies.remove(&st.id);
            }
            Event::Strategy(st) => {
                self.strategies.insert(st.id.clone(), st.clone());
            }
            Event::Connection(c) if c.status == ConnectionStatus::Deleted => {
                self.connections.remove(&c.id);
            }
            Event::Connection(c) => {
                self.connections.insert(c.id.clone(), c.clone());
            }
            Event::Balance(b) => {
                self.balances
                    .insert((b.exchange.clone(), b.asset.clone()), b.clone());
            }
            _ => {}
        }
    }

    /// The venues holding an open order with this id (one, unless two
    /// venues gave out the same id).
    pub fn venues_of(&self, order_id: &str) -> Vec<String> {
        self.order_index
            .keys()
            .filter(|(_, id)| id == order_id)
            .map(|(exchange, _)| exchange.clone())
            .collect()
    }

    /// Orders not yet in a final state.
    pub fn open_orders(&self) -> usize {
        self.orders.len()
    }

    pub fn snapshot(&self) -> Snapshot {
        Snapshot {
            system: self.system.clone(),
            strategies: self.strategies.values().cloned().collect(),
            orders: self.orders.values().cloned().collect(),
            positions: self.positions.values().cloned().collect(),
            balances: self.balances.values().cloned().collect(),
            connections: self.connections.values().cloned().collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::order::{OrderStatus, OrderType, Side, TimeInForce};

    fn order(id: &str, status: OrderStatus) -> Event {
        Event::OrderUpdate(OrderView {
            order_id: id.into(),
            client_order_id: None,
            status,
            filled: Decimal::ZERO,
            remaining: Decimal::ONE,
            price: Some(Decimal::ONE),
            symbol: "BTC-USDT".into(),
            side: Side::Buy,
            order_type: OrderType::Limit,
            strategy: None,
            strategy_id: None,
            exchange: "paper".into(),
            connection_id: None,
            reason: None,
            size: Decimal::ONE,
            avg_price: None,
            fees: Decimal::ZERO,
            time_in_force: TimeInForce::Gtc,
            post_only: false,
            created_at: String::new(),
            updated_at: String::new(),
        })
    }

    #[test]
    fn keeps_only_open_orders_in_arrival_order() {
        let mut v = StateView::default();
        v.apply(&order("ORD-2", OrderStatus::Open));
        v.apply(&order("ORD-1", OrderStatus::Open));
        v.apply(&order("ORD-2", OrderStatus::PartiallyFilled));
        let ids: Vec<_> = v
            .snapshot()
            .orders
            .into_iter()
            .map(|o| (o.order_id, o.status))
            .collect();
        assert_eq!(
            ids,
            vec![
                ("ORD-2".into(), OrderStatus::PartiallyFilled),
                ("ORD-1".into(), OrderStatus::Open)
            ]
        );
        v.apply(&order("ORD-2", OrderStatus::Filled));
        assert_eq!(v.snapshot().orders.len(), 1);
        v.apply(&Event::Connected {});
        assert_eq!(v.snapshot().system.bot_status, BotStatus::Running);
    }

    #[test]
    fn a_view_rebuilt_from_its_snapshot_goes_on_as_the_original() {
        let mut v = StateView::default();
        for id in ["ORD-3", "ORD-1", "ORD-2"] {
            v.apply(&order(id, OrderStatus::Open));
        }
        v.apply(&Event::Connected {});
        let mut copy = StateView::from_snapshot(&v.snapshot());
        assert_eq!(copy.snapshot(), v.snapshot());
        for e in [
            order("ORD-1", OrderStatus::Filled),
            order("ORD-4", OrderStatus::Open),
        ] {
            v.apply(&e);
            copy.apply(&e);
        }
        assert_eq!(copy.snapshot(), v.snapshot());
        assert_eq!(copy.venues_of("ORD-3"), vec!["paper".to_string()]);
    }
}
