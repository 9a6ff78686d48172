//! Executes one command for a session and builds its one `Response`.
//! Transport-agnostic: it talks to actors and returns a value.

use super::SessionDeps;
use crate::agents::GetAgents;
use crate::backtests::{
    BacktestView, CancelBacktest, GetBacktest, GetBacktests, GetDataFiles, StartBacktest,
};
use crate::engine::{GetSystemStatus, StartEngine, StopEngine};
use crate::order_book::GetBook;
use crate::registry::{Replay, WhereIs};
use crate::risk::{EngageKillSwitch, GetRiskStatus, ResetKillSwitch, SubmitOrder};
use crate::storage::{Store, StoreError};
use crate::strategy::manager::{ControlStrategy, CreateStrategy, GetStrategies};
use crate::venue::contract::{CancelAll, CancelOrder, GetBalances, GetCandles, GetPositions};
use crate::venue::directory::{Lookup, VenueHandle};
use crate::venue::supervisor::{
    CreateConnection, DeleteConnection, GetConnections, TestConnection,
};
use actix::dev::ToEnvelope;
use actix::prelude::*;
use futures_util::future::join_all;
use laicai_core::auth::{required_scope, Scope};
use laicai_core::error::Coded;
use laicai_core::error::ErrorCode;
use laicai_core::ids::OrderId;
use laicai_core::ids::SessionId;
use laicai_core::num::Exact;
use laicai_core::order::OrderRequest;
use laicai_core::order::OrderStatus;
use laicai_core::pair::Symbol;
use laicai_core::protocol::commands::NewBacktest;
use laicai_core::protocol::{Command, CommandEnvelope, NewConnection, NewStrategy, StrategyAction};
use laicai_core::risk::KillMode;
use laicai_core::strategy::catalog::strategy_types;
use laicai_core::venue::{OrderFilter, VenueRef};
use laicai_core::wire::events::{MarketView, VenueScoped};
use laicai_core::wire::export::trades_csv;
use laicai_core::wire::Response;
use serde_json::Value;
use std::sync::Arc;

mod backtests;
mod connections;
mod engine;
mod market;
mod orders;
mod strategies;

use backtests::*;
use connections::*;
use engine::*;
use market::*;
use orders::*;
use strategies::*;

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

/// The refusal of a command above the caller's scope.
pub fn forbidden(caller: Caller, env: &CommandEnvelope) -> Option<Response> {
    let cmd = &env.cmd;
    let needed = required_scope(cmd);
    (!caller.scope.allows(needed)).then(|| {
        Response::fail(
            cmd,
            env.request_id.clone(),
            ErrorCode::Forbidden,
            format!(
                "`{cmd}` needs the {needed} scope; this connection's token has {}",
                caller.scope
            ),
        )
    })
}

/// The commands a session answers from its own registry wherever the
/// engine runs (`replay`, `get_session`): their answer, or `None` for
/// any other command.
pub async fn answer_from_registry(
    registry: &Addr<crate::registry::RegistryActor>,
    timeout: std::time::Duration,
    caller: Caller,
    env: &CommandEnvelope,
) -> Option<Response> {
    if !matches!(env.cmd.as_str(), "replay" | "get_session") {
        return None;
    }
    let r = Reply {
        cmd: &env.cmd,
        rid: env.request_id.clone(),
    };
    let answer = match Command::parse(env) {
        Ok(Command::Replay { since_seq }) => replay(registry, timeout, caller, &r, since_seq).await,
        Ok(Command::GetSession) => get_session(caller, &r).await,
        Ok(_) => return None,
        Err(e) => Err((e.code(), e.to_string())),
    };
    Some(answer.unwrap_or_else(|(code, message)| r.fail(code, message)))
}

async fn answer(deps: SessionDeps, caller: Caller, env: CommandEnvelope) -> Response {
    if let Some(refusal) = forbidden(caller, &env) {
        return refusal;
    }
    let cmd = env.cmd.clone();
    let rid = env.request_id.clone();
    let needed = required_scope(&cmd);
    let command = match Command::parse(&env) {
        Ok(command) => command,
        Err(e) => return Response::fail(&cmd, rid, e.code(), e.to_string()),
    };
    // The kill switch acts at once even then; its answer waits for the disk.
    if needed != Scope::Read && cmd != "kill_switch" {
        if let Some(why) = deps.storage.health().unavailable() {
            return Response::fail(
                &cmd,
                rid,
                ErrorCode::StorageUnavailable,
                format!("the database cannot be written ({why}): commands that change state are refused until it can be; reads work"),
            );
        }
    }
    run(&deps, caller, &cmd, rid.clone(), command)
        .await
        .unwrap_or_else(|(code, message)| Response::fail(&cmd, rid, code, message))
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
    // Reads of the database wait for the disk: while it has stopped
    // answering they are refused, at once or as soon as the stall is
    // seen, rather than left waiting for it. (A slow read, a large
    // export, is not cut short.)
    let stalled = |deps: &SessionDeps| -> Failure {
        let why = deps.storage.health().unavailable().unwrap_or_default();
        (
            ErrorCode::StorageUnavailable,
            format!("orders and trades cannot be read from the database now ({why}); balances, positions and status still answer"),
        )
    };
    if deps.storage.health().stalled() {
        return Err(stalled(deps));
    }
    let read = std::pin::pin!(deps.storage.read(read));
    let stall = std::pin::pin!(async {
        while !deps.storage.health().stalled() {
            actix::clock::sleep(STALL_CHECK).await;
        }
    });
    match futures_util::future::select(read, stall).await {
        futures_util::future::Either::Left((read, _)) => read.map_err(|e| {
            tracing::error!(error = %e, "history read failed");
            (ErrorCode::Internal, format!("history is unavailable: {e}"))
        }),
        futures_util::future::Either::Right(((), _)) => Err(stalled(deps)),
    }
}

/// How often a read of the database waiting for the disk checks whether
/// the disk has been reported stalled.
const STALL_CHECK: std::time::Duration = std::time::Duration::from_millis(100);

/// A refusal with the error's own code and message.
fn refused(e: impl Coded) -> Failure {
    (e.code(), e.to_string())
}

/// Gives each view its venue's connection id, as events carry it.
fn stamp<T: VenueScoped>(deps: &SessionDeps, views: &mut [T]) {
    let of = |exchange: &str| deps.venues.connection_of(exchange);
    for v in views {
        v.stamp_connection(&of);
    }
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
    let venues = select_venues(deps, exchange)?;
    let answers = join_all(venues.iter().map(|v| tell(deps, pick(v), make()))).await;
    let mut all = Vec::new();
    for a in answers {
        all.extend(a?);
    }
    Ok(all)
}

/// The venues a command names (every one, without a name), or why none.
fn select_venues(
    deps: &SessionDeps,
    exchange: Option<&str>,
) -> Result<Vec<Arc<VenueHandle>>, Failure> {
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
    Ok(venues)
}

/// A backtest's fields at the top level and in `data`.
fn with_backtest(r: Response, view: &BacktestView) -> Response {
    r.with("backtest_id", &view.backtest_id)
        .with("status", &view.status)
        .with("backtest", view)
}

/// A command's answer, before its payload: which command, and its
/// `request_id`.
struct Reply<'a> {
    cmd: &'a str,
    rid: Option<Value>,
}

impl Reply<'_> {
    fn ok(&self, message: String) -> Response {
        Response::ok(self.cmd, self.rid.clone(), message)
    }

    fn fail(&self, code: ErrorCode, message: String) -> Response {
        Response::fail(self.cmd, self.rid.clone(), code, message)
    }
}

async fn run(
    deps: &SessionDeps,
    caller: Caller,
    cmd: &str,
    rid: Option<Value>,
    command: Command,
) -> Result<Response, Failure> {
    let r = Reply { cmd, rid };
    // What a command names as its venue, as the venue's name.
    let at = |venue: &VenueRef| deps.venues.locate(venue).map_err(refused);
    match command {
        Command::PlaceOrder { mut order, venue } => {
            order.exchange = at(&venue)?;
            place_order(deps, &r, order).await
        }
        Command::CancelOrder { order_id, venue } => {
            cancel_order(deps, &r, order_id, at(&venue)?).await
        }
        Command::CancelAllOrders { mut filter, venue } => {
            filter.exchange = at(&venue)?;
            cancel_all_orders(deps, &r, filter).await
        }
        Command::GetOrders { mut filter, venue } => {
            filter.exchange = at(&venue)?;
            get_orders(deps, &r, filter).await
        }
        Command::GetTrades { mut filter, venue } => {
            filter.exchange = at(&venue)?;
            get_trades(deps, &r, filter).await
        }
        Command::ExportTrades { mut filter, venue } => {
            filter.exchange = at(&venue)?;
            export_trades(deps, &r, filter).await
        }
        Command::GetPositions { venue } => get_positions(deps, &r, at(&venue)?).await,
        Command::GetBalances { venue } => get_balances(deps, &r, at(&venue)?).await,
        Command::GetOrderBook {
            symbol,
            venue,
            depth,
        } => get_order_book(deps, &r, symbol, at(&venue)?, depth).await,
        Command::GetAgents => get_agents(deps, &r).await,
        Command::GetSystemStatus => get_system_status(deps, &r).await,
        Command::CreateStrategy(n) => create_strategy(deps, &r, n).await,
        Command::ControlStrategy { id, action } => control_strategy(deps, &r, id, action).await,
        Command::GetStrategies => get_strategies(deps, &r).await,
        Command::KillSwitch { mode, reason } => kill_switch(deps, &r, mode, reason).await,
        Command::ResetKillSwitch => reset_kill_switch(deps, &r).await,
        Command::GetRiskLimits => get_risk_limits(deps, &r).await,
        Command::CreateConnection(n) => create_connection(deps, &r, n).await,
        Command::DeleteConnection { id } => delete_connection(deps, &r, id).await,
        Command::TestConnection { id } => test_connection(deps, &r, id).await,
        Command::GetConnections => get_connections(deps, &r).await,
        Command::Replay { since_seq } => {
            replay(
                &deps.registry,
                deps.limits.command_timeout,
                caller,
                &r,
                since_seq,
            )
            .await
        }
        Command::StartBacktest(new) => start_backtest(deps, &r, new).await,
        Command::GetBacktest { id } => get_backtest(deps, &r, id).await,
        Command::CancelBacktest { id } => cancel_backtest(deps, &r, id).await,
        Command::GetBacktests => get_backtests(deps, &r).await,
        Command::GetDataFiles => get_data_files(deps, &r).await,
        Command::GetMarkets => get_markets(deps, &r).await,
        Command::GetCandles {
            symbol,
            venue,
            limit,
        } => get_candles(deps, &r, symbol, at(&venue)?, limit).await,
        Command::GetStrategyTypes => get_strategy_types(&r).await,
        Command::GetSession => get_session(caller, &r).await,
        Command::StartEngine => start_engine(deps, &r).await,
        Command::StopEngine => stop_engine(deps, &r).await,
    }
}
