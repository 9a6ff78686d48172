//! The venue's side of the connector: the messages every venue answers
//! (orders, cancels, balances, positions, candles, statistics, followers)
//! and the connection's own (test, durable writes, shutdown).

use super::*;

impl Handles<PlaceOrder> for BinanceConnector {
    type Result = ResponseActFuture<Self, Result<OrderView, VenueError>>;
    fn handle(&mut self, msg: PlaceOrder, _: &mut Self::Context) -> Self::Result {
        let now = self.s.clock.now_ms();
        let prepared = match (self.connected, self.carry.account.as_mut()) {
            (true, Some(a)) => a.prepare(msg.0, now).map_err(VenueError::from),
            _ => self.not_ready(),
        };
        let new = match prepared {
            Ok(n) => n,
            Err(e) => return Box::pin(fut::ready(Err(e))),
        };
        if let Some(v) = self.account().and_then(|a| a.view(&new.client_id)) {
            self.publish(vec![Event::OrderUpdate(v)]);
        }
        let rest = self.rest.clone();
        let params = new.params.clone();
        let client = new.client_id.clone();
        let work = async move {
            rest.signed::<RestOrder>(Method::POST, "/api/v3/order", &params)
                .await
        };
        let (durable, stored) = tokio::sync::oneshot::channel();
        let placed = work.into_actor(self).map(move |answer, act, ctx| {
            let now = act.s.clock.now_ms();
            let events = match (&answer, act.carry.account.as_mut()) {
                (Ok(ack), Some(a)) => a.accepted(&client, ack, now),
                (Err(RestError::Transport(_) | RestError::Server(_)), Some(_)) => {
                    // Unknown whether it reached Binance: ask shortly.
                    ctx.run_later(Duration::from_secs(1), |act, ctx| act.reconcile(ctx));
                    Vec::new()
                }
                (Err(e), Some(a)) => a.refused(&client, &e.to_string(), now),
                (_, None) => Vec::new(),
            };
            act.commit(events, Some(durable));
            match &answer {
                Err(e) => act.on_rest_error("new order", e, ctx),
                Ok(_) => act.server_errors = 0,
            }
            match (answer, act.account().and_then(|a| a.view(&client))) {
                (Ok(_), Some(v)) => Ok(v),
                // Refused by Binance: the order's one lifecycle ends rejected.
                (Err(_), Some(v)) if v.status.is_terminal() => Ok(v),
                (Err(e), _) => Err(VenueError::Internal(format!("{e} (order {client})"))),
                (Ok(_), None) => Err(VenueError::Internal("order vanished".into())),
            }
        });
        // Answered once the order's record is durable.
        Box::pin(placed.then(|result, _, _| {
            fut::wrap_future(async move {
                match stored.await {
                    Ok(Err(e)) => Err(VenueError::Internal(format!(
                        "placed, but not stored durably: {e}"
                    ))),
                    _ => result,
                }
            })
        }))
    }
}

impl Handles<CancelOrder> for BinanceConnector {
    type Result = ResponseActFuture<Self, Result<OrderView, VenueError>>;
    fn handle(&mut self, msg: CancelOrder, _: &mut Self::Context) -> Self::Result {
        let client = msg.0 .0.clone();
        let found = self
            .account()
            .and_then(|a| Some((a.view(&client)?, a.venue_symbol_of(&client)?)));
        let (view, symbol) = match found {
            Some(f) => f,
            None => {
                return Box::pin(fut::ready(Err(VenueError::NotFound(format!(
                    "no order {client}"
                )))))
            }
        };
        if !view.status.is_open() {
            return Box::pin(fut::ready(Err(VenueError::NotOpen(format!(
                "order {client} is {}, not open",
                view.status
            )))));
        }
        let rest = self.rest.clone();
        let c = client.clone();
        let work = async move {
            rest.signed::<RestOrder>(
                Method::DELETE,
                "/api/v3/order",
                &[("symbol", symbol), ("origClientOrderId", c)],
            )
            .await
        };
        Box::pin(
            work.into_actor(self)
                .map(move |answer, act, ctx| match answer {
                    Ok(state) => {
                        let events = act
                            .carry
                            .account
                            .as_mut()
                            .map(|a| a.reconcile(&client, &state, &[], act.s.clock.now_ms()))
                            .unwrap_or_default();
                        act.publish(events);
                        act.account()
                            .and_then(|a| a.view(&client))
                            .ok_or_else(|| VenueError::NotFound(format!("no order {client}")))
                    }
                    Err(RestError::Api {
                        code: -2011, msg, ..
                    }) => Err(VenueError::NotOpen(format!("order {client}: {msg}"))),
                    Err(e) => {
                        act.on_rest_error("cancel", &e, ctx);
                        Err(VenueError::Internal(e.to_string()))
                    }
                }),
        )
    }
}

impl Handles<CancelAll> for BinanceConnector {
    type Result = ResponseActFuture<Self, usize>;
    fn handle(&mut self, msg: CancelAll, ctx: &mut Self::Context) -> Self::Result {
        let open = self
            .account()
            .map(|a| a.open_matching(&msg.0))
            .unwrap_or_default();
        let me = ctx.address();
        let timeout = self.s.request_timeout * 2;
        let work = async move {
            let mut count = 0;
            for (client, _) in open {
                if let Ok(Ok(_)) = me.send(CancelOrder(OrderId(client))).timeout(timeout).await {
                    count += 1;
                }
            }
            count
        };
        Box::pin(fut::wrap_future(work))
    }
}

impl Handles<GetBalances> for BinanceConnector {
    type Result = MessageResult<GetBalances>;
    fn handle(&mut self, _: GetBalances, _: &mut Self::Context) -> Self::Result {
        MessageResult(self.account().map(|a| a.balances()).unwrap_or_default())
    }
}

impl Handles<GetPositions> for BinanceConnector {
    type Result = MessageResult<GetPositions>;
    fn handle(&mut self, _: GetPositions, _: &mut Self::Context) -> Self::Result {
        MessageResult(self.account().map(|a| a.positions()).unwrap_or_default())
    }
}

impl Handles<GetCandles> for BinanceConnector {
    type Result = MessageResult<GetCandles>;
    fn handle(&mut self, msg: GetCandles, _: &mut Self::Context) -> Self::Result {
        let trades = self
            .account()
            .is_some_and(|a| a.symbols().symbol(msg.symbol.as_str()).is_some());
        MessageResult(trades.then(|| {
            self.carry
                .candles
                .get(&msg.symbol)
                .map(|c| c.last(msg.limit))
                .unwrap_or_default()
        }))
    }
}

impl Handles<GetStats> for BinanceConnector {
    type Result = MessageResult<GetStats>;
    fn handle(&mut self, _: GetStats, _: &mut Self::Context) -> Self::Result {
        MessageResult(self.account().map(|a| a.stats()).unwrap_or_default())
    }
}

impl Handles<Follow> for BinanceConnector {
    type Result = ();
    fn handle(&mut self, msg: Follow, _: &mut Self::Context) {
        let balances = self.account().map(|a| a.balances()).unwrap_or_default();
        let orders = self
            .account()
            .map(|a| a.orders(&laicai_core::venue::OrderFilter::default()))
            .unwrap_or_default();
        self.carry
            .followers
            .add(msg, &self.name, self.connected, balances, orders);
    }
}

impl Handles<Unfollow> for BinanceConnector {
    type Result = ();
    fn handle(&mut self, msg: Unfollow, _: &mut Self::Context) {
        self.carry.followers.remove(&msg.0);
    }
}

impl Handles<TestAccount> for BinanceConnector {
    type Result = ResponseActFuture<Self, Result<String, String>>;
    fn handle(&mut self, _: TestAccount, _: &mut Self::Context) -> Self::Result {
        let rest = self.rest.clone();
        let work = async move {
            rest.signed::<Account>(Method::GET, "/api/v3/account", &[])
                .await
        };
        Box::pin(work.into_actor(self).map(|answer, _, _| match answer {
            Ok(a) => Ok(format!(
                "healthy: signed account request answered ({} balances)",
                a.balances.len()
            )),
            Err(e) => Err(e.to_string()),
        }))
    }
}

impl Handles<Durable> for BinanceConnector {
    type Result = ();
    fn handle(&mut self, msg: Durable, _: &mut Self::Context) {
        let ready = self.journal.durable(msg);
        self.release(ready);
    }
}

impl Handles<Shutdown> for BinanceConnector {
    type Result = ();
    fn handle(&mut self, _: Shutdown, ctx: &mut Self::Context) {
        self.ending = true;
        let ready = self.journal.drain();
        self.release(ready);
        self.tell(VenueEvent::Connection { connected: false });
        ctx.stop();
    }
}
