//! Double-submit protection and order confirmations.
//!
//! The cart page puts a random one-time token in the checkout form. The first
//! `POST /cart/checkout` with a `(session, token)` pair takes that token's
//! lock and places the order; a second POST with the same token (a double
//! click, a reload of the POST, the back button) waits for the first to
//! finish and is redirected to the same confirmation instead of ordering
//! again. A failed attempt leaves the token unused, so the shopper can fix the
//! form and retry.
//!
//! Placed orders are kept for the confirmation page (`GET /order/{id}`, the
//! target of the POST's 303 redirect), keyed by session and order id.
//!
//! Both maps live in this process's memory and are bounded (the oldest
//! entries are dropped first): with several replicas a reload that lands on
//! another replica shows "order not found" (the order itself is placed once
//! either way, as long as the duplicate POST reaches the same replica, which
//! is what session affinity or a single replica gives).

use std::{
    collections::{HashMap, VecDeque},
    hash::Hash,
    sync::{Arc, Mutex},
};

use boutique_proto::hipstershop::OrderResult;

/// How many tokens and orders are remembered.
pub const CAPACITY: usize = 10_000;

/// A map that forgets its oldest entries beyond a capacity.
#[derive(Debug)]
struct Bounded<K, V> {
    map: HashMap<K, V>,
    order: VecDeque<K>,
    capacity: usize,
}

impl<K: Eq + Hash + Clone, V: Clone> Bounded<K, V> {
    fn new(capacity: usize) -> Self {
        Self {
            map: HashMap::new(),
            order: VecDeque::new(),
            capacity,
        }
    }

    fn get(&self, k: &K) -> Option<V> {
        self.map.get(k).cloned()
    }

    fn get_or_insert_with(&mut self, k: K, make: impl FnOnce() -> V) -> V {
        if let Some(v) = self.map.get(&k) {
            return v.clone();
        }
        let v = make();
        self.insert(k, v.clone());
        v
    }

    fn insert(&mut self, k: K, v: V) {
        if self.map.insert(k.clone(), v).is_none() {
            self.order.push_back(k);
        }
        while self.map.len() > self.capacity {
            match self.order.pop_front() {
                Some(old) => {
                    self.map.remove(&old);
                }
                None => break,
            }
        }
    }
}

/// An order as the confirmation page shows it.
#[derive(Debug, Clone)]
pub struct PlacedOrder {
    pub order: OrderResult,
    /// The currency the order was placed in.
    pub currency: String,
}

/// The slot of one checkout token: `Some(order id)` once it was used.
pub type TokenSlot = Arc<tokio::sync::Mutex<Option<String>>>;

type Key = (Arc<str>, String);

/// Checkout tokens and recent orders of this replica.
#[derive(Debug)]
pub struct Orders {
    tokens: Mutex<Bounded<Key, TokenSlot>>,
    orders: Mutex<Bounded<Key, Arc<PlacedOrder>>>,
}

impl Default for Orders {
    fn default() -> Self {
        Self::with_capacity(CAPACITY)
    }
}

impl Orders {
    /// Maps bounded to `capacity` entries each.
    pub fn with_capacity(capacity: usize) -> Self {
        Self {
            tokens: Mutex::new(Bounded::new(capacity)),
            orders: Mutex::new(Bounded::new(capacity)),
        }
    }

    /// A fresh random token for a checkout form.
    pub fn new_token() -> String {
        uuid::Uuid::new_v4().simple().to_string()
    }

    /// The slot of `(session, token)`; lock it for the whole checkout.
    pub fn token_slot(&self, session: &Arc<str>, token: &str) -> TokenSlot {
        let mut t = self.tokens.lock().unwrap_or_else(|p| p.into_inner());
        t.get_or_insert_with((session.clone(), token.to_owned()), TokenSlot::default)
    }

    /// Remembers a placed order.
    pub fn remember(&self, session: &Arc<str>, placed: PlacedOrder) {
        let key = (session.clone(), placed.order.order_id.clone());
        let mut o = self.orders.lock().unwrap_or_else(|p| p.into_inner());
        o.insert(key, Arc::new(placed));
    }

    /// The order `order_id` of `session`, if this replica still has it.
    pub fn get(&self, session: &Arc<str>, order_id: &str) -> Option<Arc<PlacedOrder>> {
        let o = self.orders.lock().unwrap_or_else(|p| p.into_inner());
        o.get(&(session.clone(), order_id.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn placed(id: &str) -> PlacedOrder {
        PlacedOrder {
            order: OrderResult {
                order_id: id.into(),
                ..Default::default()
            },
            currency: "USD".into(),
        }
    }

    #[test]
    fn bounded_forgets_the_oldest() {
        let mut b = Bounded::new(2);
        b.insert(1, "a");
        b.insert(2, "b");
        b.insert(1, "a2");
        b.insert(3, "c");
        assert_eq!(b.get(&1), None);
        assert_eq!(b.get(&2), Some("b"));
        assert_eq!(b.get(&3), Some("c"));
    }

    #[tokio::test]
    async fn one_token_one_order() {
        let o = Orders::default();
        let s: Arc<str> = Arc::from("s1");
        let slot = o.token_slot(&s, "t");
        {
            let mut g = slot.lock().await;
            assert!(g.is_none());
            *g = Some("order-1".into());
        }
        let again = o.token_slot(&s, "t");
        assert_eq!(again.lock().await.as_deref(), Some("order-1"));
        let other_session = o.token_slot(&Arc::from("s2"), "t");
        assert!(other_session.lock().await.is_none());

        o.remember(&s, placed("order-1"));
        assert!(o.get(&s, "order-1").is_some());
        assert!(o.get(&Arc::from("s2"), "order-1").is_none(), "per session");
        let small = Orders::with_capacity(1);
        small.remember(&s, placed("a"));
        small.remember(&s, placed("b"));
        assert!(small.get(&s, "a").is_none());
        assert!(small.get(&s, "b").is_some());
    }
}
