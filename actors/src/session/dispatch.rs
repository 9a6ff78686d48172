//! Executes one command for a session and builds its one `Response`.
//! Transport-agnostic: it talks to actors and returns a value.

use super::SessionDeps;
use crate::agents::GetAgents;
use crate::backtests::{
    BacktestCmdError, BacktestView, CancelBacktest, GetBacktest, GetBacktests, GetDataFiles,
    StartBacktest,
};
use crate::connections::{
    ConnectionError, CreateConnection, DeleteConnection, GetConnections, TestConnection,
};
use crate::engine::{GetSystemStatus, StartEngine, StopEngine};
use crate::exchange::{CancelAll, CancelOrder, GetBalances, GetCandles, GetPositions, VenueError};
use crate::order_book::GetBook;
use crate::registry::{Replay, WhereIs};
use crate::risk::{EngageKillSwitch, GetRiskStatus, OrderError, ResetKillSwitch, SubmitOrder};
use crate::storage::{Store, StoreError};
use crate::strategy::manager::{ControlStrategy, CreateStrategy, GetStrategies, StrategyCmdError};
use crate::venues::{Lookup, VenueHandle};
use actix::dev::ToEnvelope;
use actix::prelude::*;
use futures_util::future::join_all;
use laicai_core::auth::{required_scope, Scope};
use laicai_core::error::ErrorCode;
use laicai_core::ids::SessionId;
use laicai_core::num::Exact;
use laicai_core::order::OrderStatus;
use laicai_core::protocol::{Command, CommandEnvelope, StrategyAction};
use laicai_core::strategy::catalog::strategy_types;
use laicai_core::wire::events::MarketView;
use laicai_core::wire::export::trades_csv;
use laicai_core::wire::Response;
use serde_json::Value;

/// Who sent a command.
#[derive(Clone, Copy, Debug)]
pub struct Caller {
    pub session: SessionId,
    pub scope: Scope,
}

/// Runs the command in `env` and answers it. What changes state, and
/// every refusal, is logged (and so reaches `/ws/logs`); reads are not.
pub async fn execute(deps: SessionDeps, caller: Caller, env: CommandEnvelope) -> Response {
    let response = answer(deps, caller, env).await;
    let session = caller.session;
    match response.error {
        Some(code) => tracing::info!(
            %session,
            cmd = %response.cmd,
            error = %code,
            "command refused: {}",
            response.message
        ),
        None if required_scope(&response.cmd) != Scope::Read => {
            tracing::info!(%session, cmd = %response.cmd, "{}", response.message)
        }
        None => {}
    }
    response
}

async fn answer(deps: SessionDeps, caller: Caller, env: CommandEnvelope) -> Response {
    let cmd = env.cmd.clone();
    let rid = env.request_id.clone();
    let needed = required_scope(&cmd);
    if !caller.scope.allows(needed) {
        return Response::fail(
            &cmd,
            rid,
            ErrorCode::Forbidden,
            format!(
                "`{cmd}` needs the {needed} scope; this connection's token has {}",
                caller.scope
            ),
        );
    }
    match Command::parse(&env) {
        Ok(command) => run(&deps, caller, &cmd, rid.clone(), command)
            .await
            .unwrap_or_else(|(code, message)| Response::fail(&cmd, rid, code, message)),
        Err(e) => Response::fail(&cmd, rid, e.code(), e.to_string()),
    }
}

type Failure = (ErrorCode, String);

/// Sends `msg` and waits at most the command timeout.
async fn ask<A, M>(deps: &SessionDeps, addr: &Addr<A>, msg: M) -> Result<M::Result, Failure>
where
    A: Actor + Handler<M>,
    A::Context: ToEnvelope<A, M>,
    M: Message + Send + 'static,
    M::Result: Send,
{
    addr.send(msg)
        .timeout(deps.limits.command_timeout)
        .await
        .map_err(|e| match e {
            MailboxError::Timeout => mailbox_failure(&e),
            MailboxError::Closed => (
                ErrorCode::Internal,
                "the engine is shutting down".to_string(),
            ),
        })
}

/// Sends `msg` to a recipient (a venue) and waits at most the command timeout.
async fn tell<M>(deps: &SessionDeps, to: &Recipient<M>, msg: M) -> Result<M::Result, Failure>
where
    M: Message + Send + 'static,
    M::Result: Send,
{
    to.send(msg)
        .timeout(deps.limits.command_timeout)
        .await
        .map_err(|e| mailbox_failure(&e))
}

fn mailbox_failure(e: &MailboxError) -> Failure {
    match e {
        MailboxError::Timeout => (
            ErrorCode::Timeout,
            "the engine did not answer in time".to_string(),
        ),
        MailboxError::Closed => (
            ErrorCode::ExchangeUnavailable,
            "the exchange connection went away; try again shortly".to_string(),
        ),
    }
}

/// The newest orders or trades `get_orders`/`get_trades` answer without a
/// `limit`: the history is the whole database, not a bounded memory.
/// `export_trades` has no default limit.
const HISTORY_PAGE: usize = 1000;

/// An exchange a history filter names must be one the engine knows.
fn known_exchange(deps: &SessionDeps, exchange: Option<&str>) -> Result<(), Failure> {
    match exchange {
        Some(e) if !deps.venues.knows(e) => Err(no_exchange(exchange)),
        _ => Ok(()),
    }
}

/// Reads order and trade history from storage.
async fn history<T, F>(deps: &SessionDeps, read: F) -> Result<T, Failure>
where
    T: Send + 'static,
    F: FnOnce(&Store) -> Result<T, StoreError> + Send + 'static,
{
    deps.storage.read(read).await.map_err(|e| {
        tracing::error!(error = %e, "history read failed");
        (ErrorCode::Internal, format!("history is unavailable: {e}"))
    })
}

fn no_exchange(exchange: Option<&str>) -> Failure {
    (
        ErrorCode::InvalidParams,
        format!(
            "invalid `exchange`: no exchange `{}`",
            exchange.unwrap_or_default()
        ),
    )
}

/// Asks every selected venue (`pick` chooses the message's recipient) and
/// concatenates their answers.
async fn ask_venues<M, T>(
    deps: &SessionDeps,
    exchange: Option<&str>,
    pick: impl Fn(&VenueHandle) -> &Recipient<M>,
    make: impl Fn() -> M,
) -> Result<Vec<T>, Failure>
where
    M: Message<Result = Vec<T>> + Send + 'static,
    T: Send + 'static,
{
    let venues = deps.venues.select(exchange);
    if venues.is_empty() {
        return Err(match exchange.map(|e| deps.venues.knows(e)) {
            Some(true) => (
                ErrorCode::ExchangeUnavailable,
                format!(
                    "exchange `{}` is reconnecting",
                    exchange.unwrap_or_default()
                ),
            ),
            _ => no_exchange(exchange),
        });
    }
    let answers = join_all(venues.iter().map(|v| tell(deps, pick(v), make()))).await;
    let mut all = Vec::new();
    for a in answers {
        all.extend(a?);
    }
    Ok(all)
}

fn venue_failure(e: VenueError) -> Failure {
    (e.code(), e.to_string())
}

fn connection_failure(e: ConnectionError) -> Failure {
    (e.code(), e.to_string())
}

fn backtest_failure(e: BacktestCmdError) -> Failure {
    (e.code(), e.to_string())
}

/// A backtest's fields at the top level and in `data`.
fn with_backtest(r: Response, view: &BacktestView) -> Response {
    r.with("backtest_id", &view.backtest_id)
        .with("status", &view.status)
        .with("backtest", view)
}

fn strategy_failure(e: StrategyCmdError) -> Failure {
    (e.code(), e.to_string())
}

async fn run(
    deps: &SessionDeps,
    caller: Caller,
    cmd: &str,
    rid: Option<Value>,
    command: Command,
) -> Result<Response, Failure> {
    let ok = |message: String| Response::ok(cmd, rid.clone(), message);
    Ok(match command {
        Command::PlaceOrder(req) => {
            let placed = ask(deps, &deps.risk, SubmitOrder(req)).await?;
            let order = placed.map_err(|e: OrderError| (e.code(), e.to_string()))?;
            if order.status == OrderStatus::Rejected {
                let reason = order.reason.clone().unwrap_or_else(|| "rejected".into());
                Response::fail(
                    cmd,
                    rid,
                    ErrorCode::OrderRejected,
                    format!("Order {} rejected: {reason}", order.order_id),
                )
                .with("order_id", &order.order_id)
                .with("order", &order)
            } else {
                ok("Order placed".into())
                    .with("order_id", &order.order_id)
                    .with("order", &order)
            }
        }
        Command::CancelOrder { order_id, exchange } => {
            // The id alone finds the venue that holds the order open.
            let exchange = match exchange {
                Some(e) => Some(e),
                None => {
                    let holders = ask(deps, &deps.registry, WhereIs(order_id.0.clone())).await?;
                    match holders.as_slice() {
                        [] => None,
                        [one] => Some(one.clone()),
                        many => {
                            return Err((
                                ErrorCode::InvalidParams,
                                format!(
                                    "invalid `exchange`: order {} is open on {}; say which",
                                    order_id.0,
                                    many.join(" and ")
                                ),
                            ))
                        }
                    }
                }
            };
            let venue = match deps.venues.lookup(exchange.as_deref()) {
                Lookup::Ready(_, v) => v,
                Lookup::Down(name) => {
                    return Err((
                        ErrorCode::ExchangeUnavailable,
                        format!("exchange `{name}` is reconnecting; try again shortly"),
                    ))
                }
                Lookup::Unknown(_) => return Err(no_exchange(exchange.as_deref())),
            };
            let order = tell(deps, &venue.cancel, CancelOrder(order_id))
                .await?
                .map_err(venue_failure)?;
            ok(format!("Order {} cancelled", order.order_id))
                .with("order_id", &order.order_id)
                .with("order", &order)
        }
        Command::CancelAllOrders(filter) => {
            let venues = deps.venues.select(filter.exchange.as_deref());
            let counts = join_all(
                venues
                    .iter()
                    .map(|v| tell(deps, &v.cancel_all, CancelAll(filter.clone()))),
            )
            .await;
            let mut count = 0;
            for c in counts {
                count += c?;
            }
            ok(format!("Cancelled {count} orders")).with("cancelled_count", &count)
        }
        Command::GetOrders(mut filter) => {
            known_exchange(deps, filter.exchange.as_deref())?;
            filter.limit.get_or_insert(HISTORY_PAGE);
            let orders = history(deps, move |s| s.orders(&filter)).await?;
            ok(format!("{} orders", orders.len()))
                .with("count", &orders.len())
                .with("orders", &orders)
        }
        Command::GetTrades(mut filter) => {
            known_exchange(deps, filter.exchange.as_deref())?;
            filter.limit.get_or_insert(HISTORY_PAGE);
            let trades = history(deps, move |s| s.trades(&filter)).await?;
            ok(format!("{} trades", trades.len()))
                .with("count", &trades.len())
                .with("trades", &trades)
        }
        Command::ExportTrades(filter) => {
            known_exchange(deps, filter.exchange.as_deref())?;
            let trades = history(deps, move |s| s.trades(&filter)).await?;
            let csv = trades_csv(trades.iter().rev());
            ok(format!("{} trades exported", trades.len()))
                .with("count", &trades.len())
                .with("format", &"csv")
                .with("csv", &csv)
        }
        Command::GetPositions { exchange } => {
            let positions =
                ask_venues(deps, exchange.as_deref(), |v| &v.positions, || GetPositions).await?;
            ok(format!("{} positions", positions.len()))
                .with("count", &positions.len())
                .with("positions", &positions)
        }
        Command::GetBalances { exchange } => {
            let balances =
                ask_venues(deps, exchange.as_deref(), |v| &v.balances, || GetBalances).await?;
            ok(format!("{} balances", balances.len()))
                .with("count", &balances.len())
                .with("balances", &balances)
        }
        Command::GetOrderBook {
            symbol,
            exchange,
            depth,
        } => {
            let book = deps
                .venues
                .book(exchange.as_deref(), symbol.as_str())
                .ok_or_else(|| {
                    (
                        ErrorCode::NotFound,
                        format!(
                            "no order book for {symbol} on {}",
                            exchange.as_deref().unwrap_or("the default exchange")
                        ),
                    )
                })?;
            let view = ask(deps, &book, GetBook { depth }).await?;
            ok(format!("Order book for {symbol}"))
                .with("symbol", &symbol)
                .with("bids", &view.bids)
                .with("asks", &view.asks)
                .with("sequence", &view.sequence)
        }
        Command::GetAgents => {
            let agents = ask(deps, &deps.agents, GetAgents).await?;
            ok(format!("{} agents", agents.len()))
                .with("agents", &agents)
                .with("count", &agents.len())
        }
        Command::GetSystemStatus => {
            let s = ask(deps, &deps.engine, GetSystemStatus).await?;
            ok("System status".into())
                .with("uptime", &s.uptime)
                .with("bot_status", &s.bot_status)
                .with("active_strategies", &s.active_strategies)
                .with("total_profit", &Exact(s.total_profit))
                .with("total_trades", &s.total_trades)
                .with("success_rate", &Exact(s.success_rate))
        }
        Command::CreateStrategy(n) => {
            let view = ask(deps, &deps.strategies, CreateStrategy(n))
                .await?
                .map_err(strategy_failure)?;
            ok(format!("Strategy '{}' created", view.name))
                .with("instance_id", &view.id)
                .with("strategy", &view)
        }
        Command::ControlStrategy { id, action } => {
            let (view, cancelled) = ask(deps, &deps.strategies, ControlStrategy { id, action })
                .await?
                .map_err(strategy_failure)?;
            let mut r = ok(format!("Strategy {} {}", view.id, action.past_tense()))
                .with("instance_id", &view.id)
                .with("strategy", &view);
            if action == StrategyAction::Stop {
                r = r.with("cancelled_count", &cancelled);
            }
            r
        }
        Command::GetStrategies => {
            let list = ask(deps, &deps.strategies, GetStrategies).await?;
            ok(format!("{} strategies", list.len()))
                .with("count", &list.len())
                .with("strategies", &list)
        }
        Command::KillSwitch { mode, reason } => {
            let reason = reason.unwrap_or_else(|| "kill_switch command".into());
            let out = ask(deps, &deps.risk, EngageKillSwitch { mode, reason }).await?;
            let status = ask(deps, &deps.risk, GetRiskStatus).await?;
            ok(if out.changed {
                format!(
                    "Kill switch engaged ({mode}); {} orders cancelled",
                    out.cancelled
                )
            } else {
                "Kill switch already engaged".to_string()
            })
            .with("cancelled_count", &out.cancelled)
            .with("kill_switch", &status.kill_switch)
        }
        Command::ResetKillSwitch => {
            let changed = ask(deps, &deps.risk, ResetKillSwitch).await?;
            ok(if changed {
                "Kill switch reset: orders are accepted again"
            } else {
                "Kill switch was not engaged"
            }
            .into())
        }
        Command::GetRiskLimits => {
            let s = ask(deps, &deps.risk, GetRiskStatus).await?;
            ok("Risk limits".into())
                .with("limits", &s.limits)
                .with("kill_switch", &s.kill_switch)
                .with("account", &s.account)
                .with("strategies", &s.strategies)
        }
        Command::CreateConnection(n) => {
            let view = ask(deps, &deps.connections, CreateConnection(n))
                .await?
                .map_err(connection_failure)?;
            ok(format!("Connection {} ({}) created", view.id, view.name))
                .with("connection_id", &view.id)
                .with("connection", &view)
        }
        Command::DeleteConnection { id } => {
            let view = ask(deps, &deps.connections, DeleteConnection(id))
                .await?
                .map_err(connection_failure)?;
            ok(format!("Connection {} deleted", view.id))
                .with("connection_id", &view.id)
                .with("connection", &view)
        }
        Command::TestConnection { id } => {
            let answer = ask(deps, &deps.connections, TestConnection(id.clone()))
                .await?
                .map_err(connection_failure)?;
            ok(answer).with("connection_id", &id).with("healthy", &true)
        }
        Command::GetConnections => {
            let list = ask(deps, &deps.connections, GetConnections).await?;
            ok(format!("{} connections", list.len()))
                .with("count", &list.len())
                .with("connections", &list)
        }
        Command::Replay { since_seq } => {
            let (count, seq) = ask(
                deps,
                &deps.registry,
                Replay {
                    session: caller.session,
                    since_seq,
                },
            )
            .await?
            .map_err(|gap| (ErrorCode::ReplayGap, gap.to_string()))?;
            ok(format!("Replayed {count} events after seq {since_seq}"))
                .with("count", &count)
                .with("since_seq", &since_seq)
                .with("seq", &seq)
        }
        Command::StartBacktest(new) => {
            let view = ask(deps, &deps.backtests, StartBacktest(new))
                .await?
                .map_err(backtest_failure)?;
            with_backtest(ok(format!("Backtest {} queued", view.backtest_id)), &view)
        }
        Command::GetBacktest { id } => {
            let view = ask(deps, &deps.backtests, GetBacktest(id))
                .await?
                .map_err(backtest_failure)?;
            with_backtest(
                ok(format!("Backtest {} {}", view.backtest_id, view.status)),
                &view,
            )
            .with("progress", &view.progress)
            .with("result", &view.result)
        }
        Command::CancelBacktest { id } => {
            let view = ask(deps, &deps.backtests, CancelBacktest(id))
                .await?
                .map_err(backtest_failure)?;
            with_backtest(
                ok(format!("Backtest {} cancelled", view.backtest_id)),
                &view,
            )
        }
        Command::GetBacktests => {
            let list = ask(deps, &deps.backtests, GetBacktests).await?;
            ok(format!("{} backtests", list.len()))
                .with("count", &list.len())
                .with("backtests", &list)
        }
        Command::GetDataFiles => {
            let files = ask(deps, &deps.backtests, GetDataFiles)
                .await?
                .map_err(backtest_failure)?;
            ok(format!("{} data files", files.len()))
                .with("count", &files.len())
                .with("files", &files)
        }
        Command::GetMarkets => {
            let markets: Vec<MarketView> = deps
                .venues
                .markets()
                .iter()
                .map(|(exchange, spec)| MarketView::of(exchange, spec))
                .collect();
            ok(format!("{} markets", markets.len()))
                .with("count", &markets.len())
                .with("markets", &markets)
        }
        Command::GetCandles {
            symbol,
            exchange,
            limit,
        } => {
            let (name, venue) = match deps.venues.lookup(exchange.as_deref()) {
                Lookup::Ready(name, v) => (name, v),
                Lookup::Down(name) => {
                    return Err((
                        ErrorCode::ExchangeUnavailable,
                        format!("exchange `{name}` is reconnecting; try again shortly"),
                    ))
                }
                Lookup::Unknown(_) => return Err(no_exchange(exchange.as_deref())),
            };
            let candles = tell(
                deps,
                &venue.candles,
                GetCandles {
                    symbol: symbol.clone(),
                    limit,
                },
            )
            .await?
            .ok_or_else(|| {
                (
                    ErrorCode::NotFound,
                    format!("{name} does not trade {symbol}"),
                )
            })?;
            ok(format!("{} candles of {symbol}", candles.len()))
                .with("symbol", &symbol)
                .with("exchange", &name)
                .with("interval", &"1m")
                .with("count", &candles.len())
                .with("candles", &candles)
        }
        Command::GetStrategyTypes => {
            let types = strategy_types();
            ok(format!("{} strategy types", types.len())).with("types", &types)
        }
        Command::GetSession => ok("This connection".into())
            .with("session_id", &caller.session.to_string())
            .with("scope", &caller.scope.to_string()),
        Command::StartEngine => {
            let changed = ask(deps, &deps.engine, StartEngine).await?;
            ok(if changed {
                "Engine started"
            } else {
                "Engine already running"
            }
            .into())
        }
        Command::StopEngine => {
            let changed = ask(
                deps,
                &deps.engine,
                StopEngine {
                    reason: "stop_engine command".into(),
                },
            )
            .await?;
            ok(if changed {
                "Engine stopped"
            } else {
                "Engine already stopped"
            }
            .into())
        }
    })
}
