//! The Redis store, in upstream's exact layout (contract §4.1) so that
//! upstream's C# cart and this one can share a Redis and read each other's
//! carts:
//!
//! * key = the raw user id, database 0, no TTL;
//! * a HASH with `absexp` = `-1`, `sldexp` = `-1` and `data` = the protobuf
//!   `hipstershop.Cart` (empty string after EmptyCart = present but empty);
//! * read with `HMGET <user> absexp sldexp data`, written with
//!   `HSET <user> absexp -1 sldexp -1 data <bytes>`.
//!
//! **One connection.** A single multiplexed, auto-reconnecting
//! [`ConnectionManager`] is created at start-up *without* connecting, so the
//! service starts even when Redis is down. No call opens a connection of its
//! own and nothing blocks a runtime thread.
//!
//! **Availability.** A background task PINGs Redis every
//! [`crate::Config::store_probe_interval`] (1 s by default) on that same
//! connection (a failed PING also makes the manager reconnect) and flips the
//! gRPC health of `""` and `hipstershop.CartService` between SERVING and
//! NOT_SERVING, and `cartservice_store_up{store="redis"}` between 1 and 0.
//! While Redis is known to be down, RPCs fail at once with `UNAVAILABLE`
//! (`cart storage unavailable: …`) instead of waiting for a timeout; they
//! work again at the first successful PING, without a restart. Connection
//! attempts and answers are bounded (1 s to connect, 2 s per answer).
//!
//! **Atomic AddItem.** AddItem is an optimistic compare-and-set: read
//! `data`, compute the new cart in Rust (Redis cannot decode protobuf), then
//! a Lua script writes the new hash only if `data` still holds the bytes
//! that were read (or is still absent); if it does not, the step is retried
//! after a short random pause. Lua scripts run atomically in Redis, so no
//! update is lost between several replicas of this service. Within one
//! replica, AddItems of the same user also queue on an async lock (one of
//! [`LOCK_STRIPES`] striped by user id), so the compare-and-set only has to
//! arbitrate between replicas and does not starve under a burst of clicks.
//! (A WATCH/MULTI transaction would need a connection of its own per call;
//! an in-process lock alone would not cover other replicas.) Upstream's C#
//! cart writes without any check, so a write of *its* racing ours can
//! still lose one update, as upstream alone always could.

use std::{
    hash::{Hash as _, Hasher as _},
    sync::{Arc, Mutex, PoisonError, Weak},
    time::Duration,
};

use boutique_proto::hipstershop::{Cart, CartItem};
use boutique_runtime::{HealthReporter, ServingStatus};
use prost::Message as _;
use redis::{
    Client, ConnectionAddr, ErrorKind, FromRedisValue, RedisError, ServerErrorKind,
    aio::{ConnectionManager, ConnectionManagerConfig},
};
use tokio_util::sync::CancellationToken;

use crate::{CartError, metrics, store::CartStore};

/// Bound on establishing a connection to Redis.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(1);
/// Bound on one answer from Redis.
const RESPONSE_TIMEOUT: Duration = Duration::from_secs(2);
/// Bound on a whole store command, connection included.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(3);
/// Compare-and-set rounds before AddItem gives up (only reachable when the
/// same cart is written continuously by other replicas).
const MAX_CAS_ATTEMPTS: u32 = 32;
/// Number of per-replica AddItem locks (users are spread over them by hash).
pub const LOCK_STRIPES: usize = 256;

/// Writes `ARGV[3]` as the cart of `KEYS[1]` (upstream's three fields) if
/// its `data` field still equals `ARGV[2]` (when `ARGV[1]` is `1`) or is
/// still absent (when `ARGV[1]` is `0`). Returns 1 when written, 0 when the
/// cart changed in between. A key of another type fails with WRONGTYPE.
const CAS_SCRIPT: &str = r"
local cur = redis.call('HGET', KEYS[1], 'data')
if ARGV[1] == '1' then
  if cur ~= ARGV[2] then return 0 end
elseif cur then
  return 0
end
redis.call('HSET', KEYS[1], 'absexp', '-1', 'sldexp', '-1', 'data', ARGV[3])
return 1
";

/// The cart store on Redis.
#[derive(Clone)]
pub struct RedisStore {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisStore")
            .field("addr", &self.inner.addr)
            .finish_non_exhaustive()
    }
}

struct Inner {
    conn: ConnectionManager,
    addr: String,
    /// Serialises AddItems of one user within this replica.
    add_locks: Box<[tokio::sync::Mutex<()>]>,
    /// `None` until the first PING; then whether Redis answered, and why not.
    state: Mutex<Option<Result<(), String>>>,
}

/// Redis could not be set up (an invalid address).
#[derive(Debug, thiserror::Error)]
#[error("cannot use Redis at {addr}: {source}")]
pub struct SetupError {
    addr: String,
    source: RedisError,
}

/// Splits `host:port` (IPv6 hosts may be bracketed).
fn connection_addr(addr: &str) -> Option<ConnectionAddr> {
    let (host, port) = addr.rsplit_once(':')?;
    let host = host.trim_start_matches('[').trim_end_matches(']');
    Some(ConnectionAddr::Tcp(host.to_owned(), port.parse().ok()?))
}

impl RedisStore {
    /// A store on the Redis at `addr` (`host:port`). Does not connect: the
    /// first command or PING does.
    pub fn new(addr: &str) -> Result<Self, SetupError> {
        let setup = |source| SetupError {
            addr: addr.to_owned(),
            source,
        };
        let target = connection_addr(addr).ok_or_else(|| {
            setup(RedisError::from((
                ErrorKind::InvalidClientConfig,
                "expected host:port",
            )))
        })?;
        let client = Client::open(target).map_err(setup)?;
        let config = ConnectionManagerConfig::new()
            // One attempt per reconnection; the probe below retries every
            // interval, so a command never waits through a backoff series.
            .set_number_of_retries(0)
            .set_connection_timeout(Some(CONNECT_TIMEOUT))
            .set_response_timeout(Some(RESPONSE_TIMEOUT));
        let conn = ConnectionManager::new_lazy_with_config(client, config).map_err(setup)?;
        Ok(Self {
            inner: Arc::new(Inner {
                conn,
                addr: addr.to_owned(),
                add_locks: (0..LOCK_STRIPES)
                    .map(|_| tokio::sync::Mutex::new(()))
                    .collect(),
                state: Mutex::new(None),
            }),
        })
    }

    /// Starts the probe that keeps health and `cartservice_store_up` in
    /// line with Redis' reachability, until `stop` is cancelled or the store
    /// is dropped. Reports NOT_SERVING until the first successful PING.
    pub async fn spawn_probe(
        &self,
        health: HealthReporter,
        service_name: &'static str,
        interval: Duration,
        stop: CancellationToken,
    ) {
        report(&health, service_name, false).await;
        metrics::store_up("redis", false);
        let weak = Arc::downgrade(&self.inner);
        tokio::spawn(probe(weak, health, service_name, interval, stop));
    }

    fn unavailable(&self, why: &str) -> CartError {
        CartError::Unavailable(format!("Redis at {}: {why}", self.inner.addr))
    }

    fn set_state(&self, state: Result<(), String>) {
        set_state(&self.inner, state);
    }

    /// Runs one command on the shared connection, failing fast while Redis
    /// is known to be down.
    async fn query<T: FromRedisValue>(&self, cmd: &redis::Cmd) -> Result<T, CartError> {
        let known = self
            .inner
            .state
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        if let Some(Err(why)) = known {
            return Err(self.unavailable(&why));
        }
        let mut conn = self.inner.conn.clone();
        match tokio::time::timeout(COMMAND_TIMEOUT, cmd.query_async::<T>(&mut conn)).await {
            Ok(Ok(v)) => Ok(v),
            Ok(Err(e)) if is_unavailable(&e) => {
                let why = e.to_string();
                self.set_state(Err(why.clone()));
                Err(self.unavailable(&why))
            }
            Ok(Err(e)) => Err(CartError::Storage(e.to_string())),
            Err(_) => {
                let why = format!("no answer within {} ms", COMMAND_TIMEOUT.as_millis());
                self.set_state(Err(why.clone()));
                Err(self.unavailable(&why))
            }
        }
    }

    async fn read_data(&self, user_id: &str) -> Result<Option<Vec<u8>>, CartError> {
        self.query(redis::cmd("HGET").arg(user_id).arg("data"))
            .await
    }
}

fn decode(user_id: &str, bytes: &[u8]) -> Result<Cart, CartError> {
    Cart::decode(bytes).map_err(|e| {
        CartError::Storage(format!(
            "the stored cart of user {user_id:?} is not a valid hipstershop.Cart: {e}"
        ))
    })
}

/// Errors that mean "Redis cannot be reached (now)", as opposed to Redis
/// refusing the command (WRONGTYPE, …).
fn is_unavailable(e: &RedisError) -> bool {
    e.is_io_error()
        || e.is_connection_dropped()
        || e.is_connection_refusal()
        || e.is_timeout()
        || matches!(
            e.kind(),
            ErrorKind::Server(
                ServerErrorKind::BusyLoading
                    | ServerErrorKind::TryAgain
                    | ServerErrorKind::ClusterDown
                    | ServerErrorKind::MasterDown
            )
        )
}

fn set_state(inner: &Inner, state: Result<(), String>) {
    *inner.state.lock().unwrap_or_else(PoisonError::into_inner) = Some(state);
}

async fn report(health: &HealthReporter, service_name: &str, up: bool) {
    let status = if up {
        ServingStatus::Serving
    } else {
        ServingStatus::NotServing
    };
    health.set_service_status("", status).await;
    health.set_service_status(service_name, status).await;
}

async fn probe(
    weak: Weak<Inner>,
    health: HealthReporter,
    service_name: &'static str,
    interval: Duration,
    stop: CancellationToken,
) {
    let mut reported: Option<bool> = None;
    loop {
        let Some(inner) = weak.upgrade() else { return };
        let mut conn = inner.conn.clone();
        let result = match tokio::time::timeout(
            COMMAND_TIMEOUT,
            redis::cmd("PING").query_async::<String>(&mut conn),
        )
        .await
        {
            Ok(Ok(_)) => Ok(()),
            Ok(Err(e)) => Err(e.to_string()),
            Err(_) => Err(format!(
                "no answer to PING within {} ms",
                COMMAND_TIMEOUT.as_millis()
            )),
        };
        let up = result.is_ok();
        if reported != Some(up) && !stop.is_cancelled() {
            match &result {
                Ok(()) => tracing::info!(redis = %inner.addr, "cart storage reachable"),
                Err(why) => {
                    tracing::warn!(redis = %inner.addr, error = %why, "cart storage unreachable")
                }
            }
            report(&health, service_name, up).await;
            metrics::store_up("redis", up);
            reported = Some(up);
        }
        set_state(&inner, result);
        drop((inner, conn));
        tokio::select! {
            () = stop.cancelled() => return,
            () = tokio::time::sleep(interval) => {}
        }
    }
}

impl CartStore for RedisStore {
    async fn add_item(&self, user_id: &str, item: CartItem) -> Result<(), CartError> {
        let stripe = {
            let mut h = std::hash::DefaultHasher::new();
            user_id.hash(&mut h);
            (h.finish() % LOCK_STRIPES as u64) as usize
        };
        let _queued = match self.inner.add_locks.get(stripe) {
            Some(lock) => Some(lock.lock().await),
            None => None,
        };
        for attempt in 0..MAX_CAS_ATTEMPTS {
            if attempt > 0 {
                // Another replica won the round: back off 0..2^attempt ms (≤ 64 ms).
                let max_ms = 1u64 << attempt.min(6);
                let pause = Duration::from_micros(rand::random_range(0..max_ms * 1000));
                tokio::time::sleep(pause).await;
            }
            let raw = self.read_data(user_id).await?;
            let stored = raw.as_deref().map(|b| decode(user_id, b)).transpose()?;
            let cart = crate::store::add_to_cart(stored, user_id, item.clone())?;
            let written: i64 = self
                .query(
                    redis::cmd("EVAL")
                        .arg(CAS_SCRIPT)
                        .arg(1)
                        .arg(user_id)
                        .arg(if raw.is_some() { "1" } else { "0" })
                        .arg(raw.unwrap_or_default())
                        .arg(cart.encode_to_vec()),
                )
                .await?;
            if written == 1 {
                return Ok(());
            }
        }
        Err(CartError::Contended(user_id.to_owned()))
    }

    async fn get_items(&self, user_id: &str) -> Result<Vec<CartItem>, CartError> {
        let fields: Vec<Option<Vec<u8>>> = self
            .query(
                redis::cmd("HMGET")
                    .arg(user_id)
                    .arg("absexp")
                    .arg("sldexp")
                    .arg("data"),
            )
            .await?;
        // `absexp`/`sldexp` are always -1 (no expiry) in carts written by
        // either implementation, so there is no TTL to refresh.
        match fields.into_iter().nth(2).flatten() {
            None => Ok(Vec::new()),
            Some(bytes) => Ok(decode(user_id, &bytes)?.items),
        }
    }

    async fn empty_cart(&self, user_id: &str) -> Result<(), CartError> {
        self.query::<redis::Value>(
            redis::cmd("HSET")
                .arg(user_id)
                .arg("absexp")
                .arg("-1")
                .arg("sldexp")
                .arg("-1")
                .arg("data")
                .arg(Vec::<u8>::new()),
        )
        .await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses() {
        assert!(matches!(
            connection_addr("redis-cart:6379"),
            Some(ConnectionAddr::Tcp(h, 6379)) if h == "redis-cart"
        ));
        assert!(matches!(
            connection_addr("[::1]:7000"),
            Some(ConnectionAddr::Tcp(h, 7000)) if h == "::1"
        ));
        assert!(connection_addr("nohost").is_none());
        assert!(connection_addr("h:port").is_none());
    }
}
