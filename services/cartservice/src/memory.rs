//! The in-process store (the default when `REDIS_ADDR` is unset): same rules
//! as the Redis store, carts are lost when the process stops.

use std::{
    collections::HashMap,
    sync::{Mutex, PoisonError},
};

use boutique_proto::hipstershop::{Cart, CartItem};

use crate::{CartError, store::CartStore};

/// Carts in a map behind one mutex. Every operation holds the lock only for
/// a map lookup and a small vector update and never across an `.await`, so
/// AddItem's read-modify-write is atomic.
#[derive(Debug, Default)]
pub struct MemoryStore {
    carts: Mutex<HashMap<String, Cart>>,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    fn with<T>(&self, f: impl FnOnce(&mut HashMap<String, Cart>) -> T) -> T {
        // A panic while holding the lock cannot leave a cart half-written
        // (each update replaces whole values), so a poisoned lock is usable.
        let mut carts = self.carts.lock().unwrap_or_else(PoisonError::into_inner);
        f(&mut carts)
    }
}

impl CartStore for MemoryStore {
    async fn add_item(&self, user_id: &str, item: CartItem) -> Result<(), CartError> {
        self.with(|carts| {
            let stored = carts.get(user_id).cloned();
            let cart = crate::store::add_to_cart(stored, user_id, item)?;
            carts.insert(user_id.to_owned(), cart);
            Ok(())
        })
    }

    async fn get_items(&self, user_id: &str) -> Result<Vec<CartItem>, CartError> {
        Ok(self.with(|carts| {
            carts
                .get(user_id)
                .map(|c| c.items.clone())
                .unwrap_or_default()
        }))
    }

    async fn empty_cart(&self, user_id: &str) -> Result<(), CartError> {
        self.with(|carts| carts.insert(user_id.to_owned(), Cart::default()));
        Ok(())
    }
}
