//! Stand-ins for the actors a strategy talks to, for tests on virtual
//! time: a venue and a risk gate that record what they are asked and
//! answer like the real ones, and a collector of whatever is sent to it.

use crate::registry::Publish;
use crate::risk::{OrderError, SubmitOrder};
use crate::venue::contract::{
    CancelAll, CancelOrder, Follow, GetBalances, GetCandles, GetPositions, GetStats, PlaceOrder,
    Unfollow, VenueError,
};
use crate::venue::directory::{VenueHandle, Venues};
use actix::prelude::*;
use laicai_core::candles::Candle;
use laicai_core::ids::OrderId;
use laicai_core::order::{Order, OrderRequest, OrderStatus};
use laicai_core::pair::{PairSpec, Symbol};
use laicai_core::venue::AccountStats;
use laicai_core::wire::events::{BalanceView, OrderView, PositionView};
use parking_lot::Mutex;
use rust_decimal::Decimal;
use std::str::FromStr;
use std::sync::Arc;

pub(crate) const VENUE: &str = "paper";

pub(crate) fn d(s: &str) -> Decimal {
    Decimal::from_str(s).expect("a decimal")
}

pub(crate) fn btc_usdt() -> PairSpec {
    PairSpec {
        symbol: Symbol::parse("BTC-USDT").expect("a pair"),
        tick_size: d("0.01"),
        step_size: d("0.001"),
        min_notional: d("5"),
    }
}

/// What the stub venue and risk gate were asked, in order.
#[derive(Debug, Default)]
pub(crate) struct Asked {
    pub(crate) orders: Vec<OrderRequest>,
    pub(crate) cancels: Vec<OrderId>,
    pub(crate) cancel_alls: usize,
    pub(crate) follows: Vec<String>,
    pub(crate) unfollows: Vec<String>,
}

pub(crate) type Record = Arc<Mutex<Asked>>;

/// An order as a venue would show it, open.
fn open_view(id: u64, req: OrderRequest) -> OrderView {
    let mut order = Order::new(OrderId(format!("ORD-{id}")), req, VENUE, 0);
    let _ = order.transition(OrderStatus::Open, 0);
    OrderView::of(&order)
}

/// Accepts every order (open, resting) and every cancel.
#[derive(Debug)]
pub(crate) struct StubVenue {
    pub(crate) asked: Record,
    next: u64,
}

impl Actor for StubVenue {
    type Context = Context<Self>;
}

impl Handler<PlaceOrder> for StubVenue {
    type Result = Result<OrderView, VenueError>;
    fn handle(&mut self, msg: PlaceOrder, _: &mut Self::Context) -> Self::Result {
        self.next += 1;
        Ok(open_view(self.next, msg.0))
    }
}

impl Handler<CancelOrder> for StubVenue {
    type Result = Result<OrderView, VenueError>;
    fn handle(&mut self, msg: CancelOrder, _: &mut Self::Context) -> Self::Result {
        self.asked.lock().cancels.push(msg.0.clone());
        Err(VenueError::NotFound(msg.0 .0))
    }
}

impl Handler<CancelAll> for StubVenue {
    type Result = usize;
    fn handle(&mut self, _: CancelAll, _: &mut Self::Context) -> usize {
        let mut asked = self.asked.lock();
        asked.cancel_alls += 1;
        asked.orders.len()
    }
}

impl Handler<GetBalances> for StubVenue {
    type Result = MessageResult<GetBalances>;
    fn handle(&mut self, _: GetBalances, _: &mut Self::Context) -> Self::Result {
        MessageResult(Vec::<BalanceView>::new())
    }
}

impl Handler<GetPositions> for StubVenue {
    type Result = MessageResult<GetPositions>;
    fn handle(&mut self, _: GetPositions, _: &mut Self::Context) -> Self::Result {
        MessageResult(Vec::<PositionView>::new())
    }
}

impl Handler<GetStats> for StubVenue {
    type Result = MessageResult<GetStats>;
    fn handle(&mut self, _: GetStats, _: &mut Self::Context) -> Self::Result {
        MessageResult(AccountStats::default())
    }
}

impl Handler<GetCandles> for StubVenue {
    type Result = Option<Vec<Candle>>;
    fn handle(&mut self, _: GetCandles, _: &mut Self::Context) -> Self::Result {
        None
    }
}

impl Handler<Follow> for StubVenue {
    type Result = ();
    fn handle(&mut self, msg: Follow, _: &mut Self::Context) {
        self.asked.lock().follows.push(msg.key);
    }
}

impl Handler<Unfollow> for StubVenue {
    type Result = ();
    fn handle(&mut self, msg: Unfollow, _: &mut Self::Context) {
        self.asked.lock().unfollows.push(msg.0);
    }
}

/// The risk gate: records each order and passes it to the venue.
#[derive(Debug)]
pub(crate) struct StubRisk {
    asked: Record,
    venue: Addr<StubVenue>,
}

impl Actor for StubRisk {
    type Context = Context<Self>;
}

impl Handler<SubmitOrder> for StubRisk {
    type Result = ResponseFuture<Result<OrderView, OrderError>>;
    fn handle(&mut self, msg: SubmitOrder, _: &mut Self::Context) -> Self::Result {
        self.asked.lock().orders.push(msg.0.clone());
        let venue = self.venue.clone();
        Box::pin(async move {
            match venue.send(PlaceOrder(msg.0)).await {
                Ok(answer) => answer.map_err(OrderError::from),
                Err(e) => Err(OrderError::Unavailable(e.to_string())),
            }
        })
    }
}

/// Keeps every message of type `M` it is sent.
#[derive(Debug)]
pub(crate) struct Collector<M> {
    pub(crate) got: Arc<Mutex<Vec<M>>>,
}

impl<M: Message<Result = ()> + Unpin + 'static> Actor for Collector<M> {
    type Context = Context<Self>;
}

impl<M: Message<Result = ()> + Unpin + 'static> Handler<M> for Collector<M> {
    type Result = ();
    fn handle(&mut self, msg: M, _: &mut Self::Context) {
        self.got.lock().push(msg);
    }
}

/// A collector started on this thread, and what it has got.
pub(crate) fn collector<M: Message<Result = ()> + Unpin + Send + 'static>(
) -> (Recipient<M>, Arc<Mutex<Vec<M>>>) {
    let got = Arc::new(Mutex::new(Vec::new()));
    let addr = Collector { got: got.clone() }.start();
    (addr.recipient(), got)
}

/// A venue named `paper` in a directory, a risk gate in front of it, and
/// the record of what both were asked.
pub(crate) struct World {
    pub(crate) venues: Venues,
    pub(crate) venue: Addr<StubVenue>,
    pub(crate) risk: Recipient<SubmitOrder>,
    pub(crate) asked: Record,
    pub(crate) published: Arc<Mutex<Vec<Publish>>>,
    pub(crate) publish: Recipient<Publish>,
}

pub(crate) fn world() -> World {
    let asked = Record::default();
    let venue = StubVenue {
        asked: asked.clone(),
        next: 0,
    }
    .start();
    let venues = Venues::new(VENUE);
    venues.add(VENUE, VENUE, None);
    venues.set(VENUE, Some(VenueHandle::of(&venue)));
    venues.set_rules(VENUE, vec![btc_usdt()]);
    let risk = StubRisk {
        asked: asked.clone(),
        venue: venue.clone(),
    }
    .start()
    .recipient();
    let (publish, published) = collector::<Publish>();
    World {
        venues,
        venue,
        risk,
        asked,
        published,
        publish,
    }
}
