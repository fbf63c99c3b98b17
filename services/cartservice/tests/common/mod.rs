//! Helpers shared by the cart's test binaries (each uses a subset).
#![allow(dead_code)]

use boutique_proto::hipstershop::{
    AddItemRequest, CartItem, GetCartRequest, cart_service_client::CartServiceClient,
};
use tonic::transport::Channel;

pub fn item(id: &str, quantity: i32) -> CartItem {
    CartItem {
        product_id: id.into(),
        quantity,
    }
}

/// `AddItem`, panicking with the call on failure.
pub async fn add(c: &mut CartServiceClient<Channel>, user: &str, id: &str, q: i32) {
    c.add_item(AddItemRequest {
        user_id: user.into(),
        item: Some(item(id, q)),
    })
    .await
    .unwrap_or_else(|s| panic!("AddItem({user}, {id}, {q}): {s}"));
}

/// The items of `user`'s cart; asserts the cart names the requested user.
pub async fn items(c: &mut CartServiceClient<Channel>, user: &str) -> Vec<CartItem> {
    let cart = c
        .get_cart(GetCartRequest {
            user_id: user.into(),
        })
        .await
        .unwrap_or_else(|s| panic!("GetCart({user}): {s}"))
        .into_inner();
    assert_eq!(
        cart.user_id, user,
        "GetCart answers with the requested user"
    );
    cart.items
}
