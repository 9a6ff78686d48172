//! Authentication and scopes, pure: which scope each command needs, the
//! configured tokens (compared in constant time), where a client may put
//! its token, a per-address limiter of failed attempts, and a token bucket
//! for inbound messages.

use crate::enums::wire_enum;
use crate::time::TimestampMs;
use std::collections::HashMap;
use std::fmt;

wire_enum!(
    /// What a token may do; each scope includes the ones before it.
    Scope {
        Read => "read",
        Trade => "trade",
        Admin => "admin",
    }
);

impl Scope {
    fn rank(self) -> u8 {
        match self {
            Scope::Read => 0,
            Scope::Trade => 1,
            Scope::Admin => 2,
        }
    }

    pub fn allows(self, needed: Scope) -> bool {
        self.rank() >= needed.rank()
    }
}

/// The scope a command needs (PROTOCOL §2): `read` for queries,
/// subscriptions and replay; `trade` for orders, strategies and
/// backtests; `admin` for connections, the engine and the kill switch.
/// Unknown commands need only `read` (they are answered `unknown_command`).
pub fn required_scope(cmd: &str) -> Scope {
    match cmd {
        "place_order" | "cancel_order" | "cancel_all_orders" | "create_strategy"
        | "start_strategy" | "stop_strategy" | "pause_strategy" | "resume_strategy"
        | "delete_strategy" | "start_backtest" | "cancel_backtest" => Scope::Trade,
        "create_connection" | "delete_connection" | "test_connection" | "start_engine"
        | "stop_engine" | "kill_switch" | "reset_kill_switch" => Scope::Admin,
        _ => Scope::Read,
    }
}

/// Equal in constant time for equal lengths (the length itself is not
/// secret: every token must be at least `MIN_TOKEN_LEN` long).
fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

pub const MIN_TOKEN_LEN: usize = 16;

/// The configured tokens. `Debug` does not show them.
#[derive(Clone, Default)]
pub struct Tokens(Vec<(String, Scope)>);

impl fmt::Debug for Tokens {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Tokens({} configured)", self.0.len())
    }
}

impl Tokens {
    pub fn new(tokens: Vec<(String, Scope)>) -> Self {
        Tokens(tokens)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The scope of `presented`, checking it against every token.
    pub fn scope_of(&self, presented: &str) -> Option<Scope> {
        let mut found = None;
        for (token, scope) in &self.0 {
            if same(token.as_bytes(), presented.as_bytes()) && found.is_none() {
                found = Some(*scope);
            }
        }
        found
    }
}

/// A token found in a request, and the subprotocol to answer with when it
/// came as one (browsers require the server to pick an offered protocol).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Presented {
    pub token: String,
    pub protocol: Option<String>,
}

/// Finds the token: `Authorization: Bearer <t>`, `?token=<t>`, the
/// subprotocol `bearer.<t>`, or the older clients' form of two subprotocols
/// `Authorization`, `Bearer <t>`.
pub fn presented_token(
    authorization: Option<&str>,
    query: &str,
    protocols: Option<&str>,
) -> Option<Presented> {
    if let Some(t) = authorization.and_then(|h| h.strip_prefix("Bearer ")) {
        return Some(Presented {
            token: t.trim().to_string(),
            protocol: None,
        });
    }
    for kv in query.split('&') {
        if let Some(t) = kv.strip_prefix("token=") {
            return Some(Presented {
                token: percent_decode(t),
                protocol: None,
            });
        }
    }
    let offered: Vec<&str> = protocols
        .map(|p| {
            p.split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .collect()
        })
        .unwrap_or_default();
    if let Some(p) = offered.iter().find(|p| p.starts_with("bearer.")) {
        return Some(Presented {
            token: p["bearer.".len()..].to_string(),
            protocol: Some(p.to_string()),
        });
    }
    if let Some(i) = offered
        .iter()
        .position(|p| p.eq_ignore_ascii_case("Authorization"))
    {
        if let Some(t) = offered.get(i + 1).and_then(|p| p.strip_prefix("Bearer ")) {
            return Some(Presented {
                token: t.trim().to_string(),
                protocol: Some("Authorization".into()),
            });
        }
    }
    None
}

fn percent_decode(v: &str) -> String {
    let b = v.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            if let Ok(x) = u8::from_str_radix(&v[i + 1..i + 3], 16) {
                out.push(x);
                i += 3;
                continue;
            }
        }
        out.push(if b[i] == b'+' { b' ' } else { b[i] });
        i += 1;
    }
    String::from_utf8_lossy(&out).to_string()
}

/// Failed authentications per client address: past `max_failures` within
/// a minute, the address is refused for `block_ms`.
#[derive(Debug)]
pub struct FailureLimiter {
    max_failures: u32,
    block_ms: i64,
    seen: HashMap<String, (u32, TimestampMs, Option<TimestampMs>)>,
}

impl FailureLimiter {
    pub fn new(max_failures: u32, block_ms: i64) -> Self {
        FailureLimiter {
            max_failures,
            block_ms,
            seen: HashMap::new(),
        }
    }

    /// Whether `addr` is refused now.
    pub fn blocked(&mut self, addr: &str, now: TimestampMs) -> bool {
        match self.seen.get(addr) {
            Some((_, _, Some(until))) if now < *until => true,
            Some((_, _, Some(_))) => {
                self.seen.remove(addr);
                false
            }
            _ => false,
        }
    }

    /// Records a failure; answers whether `addr` is now blocked.
    pub fn failed(&mut self, addr: &str, now: TimestampMs) -> bool {
        if self.seen.len() > 100_000 {
            self.seen.retain(|_, (_, since, until)| {
                until.is_some_and(|u| u > now) || now - *since < 60_000
            });
        }
        let entry = self.seen.entry(addr.to_string()).or_insert((0, now, None));
        if now - entry.1 >= 60_000 {
            *entry = (0, now, None);
        }
        entry.0 += 1;
        if entry.0 > self.max_failures {
            entry.2 = Some(now + self.block_ms);
        }
        entry.2.is_some()
    }
}

/// Inbound messages per second: a bucket of `rate` tokens refilled
/// continuously. Messages beyond it are refused; refusing more than `rate`
/// in the last second is abuse.
#[derive(Debug)]
pub struct RateLimiter {
    rate: f64,
    tokens: f64,
    last: TimestampMs,
    refused: Vec<TimestampMs>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Admit {
    Yes,
    /// Over the limit: answer `rate_limited`.
    No,
    /// Over the limit for a sustained second: close the connection.
    Abuse,
}

impl RateLimiter {
    pub fn new(per_sec: u32, now: TimestampMs) -> Self {
        RateLimiter {
            rate: per_sec.max(1) as f64,
            tokens: per_sec.max(1) as f64,
            last: now,
            refused: Vec::new(),
        }
    }

    pub fn admit(&mut self, now: TimestampMs) -> Admit {
        let elapsed = (now - self.last).max(0) as f64 / 1000.0;
        self.last = now;
        self.tokens = (self.tokens + elapsed * self.rate).min(self.rate);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            return Admit::Yes;
        }
        self.refused.retain(|t| now - *t < 1000);
        self.refused.push(now);
        if self.refused.len() as f64 > self.rate {
            Admit::Abuse
        } else {
            Admit::No
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_nest_and_commands_need_theirs() {
        assert!(Scope::Admin.allows(Scope::Trade) && Scope::Trade.allows(Scope::Read));
        assert!(!Scope::Read.allows(Scope::Trade) && !Scope::Trade.allows(Scope::Admin));
        assert_eq!(required_scope("get_orders"), Scope::Read);
        assert_eq!(required_scope("replay"), Scope::Read);
        assert_eq!(required_scope("place_order"), Scope::Trade);
        assert_eq!(required_scope("kill_switch"), Scope::Admin);
        assert_eq!(required_scope("create_connection"), Scope::Admin);
    }

    #[test]
    fn tokens_are_found_where_clients_put_them() {
        let t = |a, q, p| presented_token(a, q, p).map(|p| (p.token, p.protocol));
        assert_eq!(t(Some("Bearer abc"), "", None), Some(("abc".into(), None)));
        assert_eq!(t(None, "x=1&token=a%2Bb", None), Some(("a+b".into(), None)));
        assert_eq!(
            t(None, "", Some("json, bearer.abc")),
            Some(("abc".into(), Some("bearer.abc".into())))
        );
        assert_eq!(
            t(None, "", Some("Authorization, Bearer abc")),
            Some(("abc".into(), Some("Authorization".into())))
        );
        assert_eq!(t(Some("Basic x"), "", None), None);
    }

    #[test]
    fn tokens_compare_whole() {
        let tokens = Tokens::new(vec![
            ("read-token-0123456789".into(), Scope::Read),
            ("admin-token-0123456789".into(), Scope::Admin),
        ]);
        assert_eq!(
            tokens.scope_of("admin-token-0123456789"),
            Some(Scope::Admin)
        );
        assert_eq!(tokens.scope_of("admin-token-012345678"), None);
        assert_eq!(tokens.scope_of("admin-token-01234567890"), None);
        assert!(!format!("{tokens:?}").contains("admin-token"));
    }

    #[test]
    fn failures_block_an_address_for_a_while() {
        let mut l = FailureLimiter::new(3, 10_000);
        for i in 0..3 {
            assert!(!l.failed("1.2.3.4", i));
        }
        assert!(l.failed("1.2.3.4", 4));
        assert!(l.blocked("1.2.3.4", 5));
        assert!(!l.blocked("5.6.7.8", 5), "per address");
        assert!(!l.blocked("1.2.3.4", 10_004), "the block ends");
        // Failures spread beyond a minute do not add up.
        let mut l = FailureLimiter::new(3, 10_000);
        for i in 0..10 {
            assert!(!l.failed("a", i * 30_000));
        }
    }

    #[test]
    fn the_bucket_refuses_then_calls_abuse() {
        let mut r = RateLimiter::new(10, 0);
        assert!((0..10).all(|_| r.admit(0) == Admit::Yes));
        assert_eq!(r.admit(0), Admit::No);
        assert_eq!(r.admit(100), Admit::Yes, "refilled 1 in 100 ms");
        let verdicts: Vec<Admit> = (0..12).map(|_| r.admit(100)).collect();
        assert_eq!(verdicts.last(), Some(&Admit::Abuse));
    }
}
