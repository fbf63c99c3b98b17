//! The store abstraction and the cart rules every store shares.

use std::future::Future;

use boutique_proto::hipstershop::{Cart, CartItem};

use crate::CartError;

/// Where carts live. Implementations must make [`CartStore::add_item`]
/// atomic for one user (no lost update when two AddItem calls race).
pub trait CartStore: Send + Sync + 'static {
    /// Adds `item` (already validated: non-empty product id, quantity > 0) to
    /// the cart of `user_id`, accumulating quantities per product.
    fn add_item(
        &self,
        user_id: &str,
        item: CartItem,
    ) -> impl Future<Output = Result<(), CartError>> + Send;

    /// The items of `user_id`'s cart, in insertion order; none when unknown.
    fn get_items(
        &self,
        user_id: &str,
    ) -> impl Future<Output = Result<Vec<CartItem>, CartError>> + Send;

    /// Empties the cart of `user_id` (stores an empty cart, as upstream does).
    fn empty_cart(&self, user_id: &str) -> impl Future<Output = Result<(), CartError>> + Send;
}

/// Upstream's AddItem rule on a stored cart: no cart yet → a new cart of
/// `user_id` with the item; the product already in the cart → quantities
/// add up; otherwise the item is appended. The stored cart's own `user_id`
/// is kept as it is (upstream leaves it empty after EmptyCart), so the bytes
/// written are the bytes upstream's cart would write.
pub fn add_to_cart(stored: Option<Cart>, user_id: &str, item: CartItem) -> Result<Cart, CartError> {
    let Some(mut cart) = stored else {
        return Ok(Cart {
            user_id: user_id.to_owned(),
            items: vec![item],
        });
    };
    match cart
        .items
        .iter_mut()
        .find(|i| i.product_id == item.product_id)
    {
        Some(existing) => {
            existing.quantity = existing
                .quantity
                .checked_add(item.quantity)
                .ok_or_else(|| {
                    CartError::InvalidArgument(format!(
                        "quantity of product {:?} would exceed {}",
                        item.product_id,
                        i32::MAX
                    ))
                })?;
        }
        None => cart.items.push(item),
    }
    Ok(cart)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(id: &str, q: i32) -> CartItem {
        CartItem {
            product_id: id.into(),
            quantity: q,
        }
    }

    #[test]
    fn new_cart_carries_the_user() {
        let c = add_to_cart(None, "u", item("A", 2)).unwrap();
        assert_eq!(c.user_id, "u");
        assert_eq!(c.items, [item("A", 2)]);
    }

    #[test]
    fn accumulates_and_appends_in_order() {
        let c = add_to_cart(None, "u", item("A", 2)).unwrap();
        let c = add_to_cart(Some(c), "u", item("B", 1)).unwrap();
        let c = add_to_cart(Some(c), "u", item("A", 3)).unwrap();
        assert_eq!(c.items, [item("A", 5), item("B", 1)]);
    }

    #[test]
    fn emptied_cart_keeps_its_blank_user_like_upstream() {
        let c = add_to_cart(Some(Cart::default()), "u", item("A", 1)).unwrap();
        assert_eq!(c.user_id, "");
        assert_eq!(c.items, [item("A", 1)]);
    }

    #[test]
    fn overflow_is_an_error_not_a_wrap() {
        let c = add_to_cart(None, "u", item("A", i32::MAX)).unwrap();
        let e = add_to_cart(Some(c), "u", item("A", 1)).unwrap_err();
        assert!(matches!(e, CartError::InvalidArgument(_)), "{e:?}");
    }
}
