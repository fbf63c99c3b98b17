//! `hipstershop.ShippingService`: a flat-rate shipping quote and a random
//! tracking id per shipped order. Nothing is stored and nothing is validated.
//!
//! Quote: 8.99 USD whenever the item quantities sum to anything but zero
//! (negative sums included), 0.00 USD otherwise. Tracking id:
//! `L L - <len(salt)> DDD - <len(salt)/2> DDDDDDD` with letters from `A`..`Y`
//! (never `Z`, as upstream), random digits, and the salt
//! `"<street_address>, <city>, <state>"` measured in UTF-8 bytes. Difference
//! from upstream (see the README's compatibility notes): a missing address is
//! read as empty strings (upstream's server crashed).

use std::future::Future;

use boutique_proto::{
    hipstershop::{
        Address, CartItem, GetQuoteRequest, GetQuoteResponse, Money, ShipOrderRequest,
        ShipOrderResponse,
        shipping_service_server::{ShippingService, ShippingServiceServer},
    },
    service_names,
};
use boutique_runtime::{GrpcServer, Probe, ServeError, ServiceInfo};
use rand::Rng;
use tokio::net::TcpListener;
use tonic::{Request, Response, Status};

/// Facts about this binary.
pub const INFO: ServiceInfo = ServiceInfo {
    name: "shippingservice",
    default_port: 50051,
    probe: Probe::Grpc,
    version: env!("CARGO_PKG_VERSION"),
};

/// The service has no settings of its own.
pub use boutique_runtime::NoConfig as Config;

/// The flat shipping rate, in US cents.
pub const FLAT_RATE_CENTS: u32 = 899;

/// Σ quantity over `items`, in 64 bits so no cart can overflow it.
pub fn item_count(items: &[CartItem]) -> i64 {
    items.iter().map(|i| i64::from(i.quantity)).sum()
}

/// `cents` US cents as Money: whole dollars in `units`, the cents in `nanos`.
fn usd_from_cents(cents: u32) -> Money {
    Money {
        currency_code: "USD".to_owned(),
        units: i64::from(cents / 100),
        // < 100 × 10⁷, well inside i32.
        nanos: i32::try_from((cents % 100) * 10_000_000).unwrap_or(0),
    }
}

/// The quote for `count` items: free when zero, the flat rate otherwise.
pub fn quote(count: i64) -> Money {
    usd_from_cents(if count == 0 { 0 } else { FLAT_RATE_CENTS })
}

/// `"<street_address>, <city>, <state>"`; a missing address reads as empty strings.
pub fn salt(address: Option<&Address>) -> String {
    let empty = Address::default();
    let a = address.unwrap_or(&empty);
    format!("{}, {}, {}", a.street_address, a.city, a.state)
}

/// A tracking id for an order shipped to the address that gave `salt`.
pub fn tracking_id(salt: &str, rng: &mut impl Rng) -> String {
    let mut letter = || char::from(b'A' + rng.random_range(0..25u8));
    let (l1, l2) = (letter(), letter());
    let mut digits = |n: usize| -> String {
        (0..n)
            .map(|_| char::from(b'0' + rng.random_range(0..10u8)))
            .collect()
    };
    let (d3, d7) = (digits(3), digits(7));
    let len = salt.len();
    format!("{l1}{l2}-{len}{d3}-{}{d7}", len / 2)
}

/// The service implementation.
#[derive(Debug, Clone, Copy, Default)]
pub struct Shipping;

#[tonic::async_trait]
impl ShippingService for Shipping {
    async fn get_quote(
        &self,
        req: Request<GetQuoteRequest>,
    ) -> Result<Response<GetQuoteResponse>, Status> {
        let count = item_count(&req.into_inner().items);
        let cost = quote(count);
        tracing::info!(
            items = count,
            cost_units = cost.units,
            cost_nanos = cost.nanos,
            "quote computed"
        );
        Ok(Response::new(GetQuoteResponse {
            cost_usd: Some(cost),
        }))
    }

    async fn ship_order(
        &self,
        req: Request<ShipOrderRequest>,
    ) -> Result<Response<ShipOrderResponse>, Status> {
        let req = req.into_inner();
        let tracking_id = tracking_id(&salt(req.address.as_ref()), &mut rand::rng());
        tracing::info!(
            items = item_count(&req.items),
            tracking_id = %tracking_id,
            "order shipped"
        );
        Ok(Response::new(ShipOrderResponse { tracking_id }))
    }
}

/// Serves the shipping service on `listener` until `shutdown` resolves.
pub async fn serve(
    _config: Config,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServeError> {
    GrpcServer::new(service_names::SHIPPING)
        .add_service(ShippingServiceServer::new(Shipping))
        .serve(listener, shutdown)
        .await
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use rand::{SeedableRng as _, rngs::StdRng};

    use super::*;

    fn item(quantity: i32) -> CartItem {
        CartItem {
            product_id: "OLJCESPC7Z".into(),
            quantity,
        }
    }

    #[test]
    fn quote_is_flat_unless_the_count_is_zero() {
        let free = Money {
            currency_code: "USD".into(),
            units: 0,
            nanos: 0,
        };
        let flat = Money {
            currency_code: "USD".into(),
            units: 8,
            nanos: 990_000_000,
        };
        assert_eq!(quote(0), free);
        for n in [1, 2, 1000, -1, i64::MAX, i64::MIN] {
            assert_eq!(quote(n), flat, "{n}");
        }
        assert_eq!(item_count(&[]), 0);
        assert_eq!(item_count(&[item(5), item(-5)]), 0);
        assert_eq!(
            item_count(&[item(i32::MAX), item(i32::MAX)]),
            2 * i64::from(i32::MAX)
        );
        assert_eq!(usd_from_cents(1234).units, 12);
        assert_eq!(usd_from_cents(1234).nanos, 340_000_000);
    }

    #[test]
    fn salt_joins_street_city_state_and_ignores_the_rest() {
        let a = Address {
            street_address: "1600 Amphitheatre Parkway".into(),
            city: "Mountain View".into(),
            state: "CA".into(),
            country: "USA".into(),
            zip_code: 94043,
        };
        assert_eq!(
            salt(Some(&a)),
            "1600 Amphitheatre Parkway, Mountain View, CA"
        );
        assert_eq!(salt(None), ", , ");
        assert_eq!(salt(Some(&Address::default())), ", , ");
    }

    #[test]
    fn tracking_ids_use_a_to_y_and_digits_in_upstreams_shape() {
        let mut rng = StdRng::seed_from_u64(7);
        let mut letters = HashSet::new();
        let mut ids = HashSet::new();
        for _ in 0..10_000 {
            let id = tracking_id("1600 Amphitheatre Parkway, Mountain View, CA", &mut rng);
            let b = id.as_bytes();
            assert_eq!(id.len(), 18, "{id}");
            assert!(b[..2].iter().all(|c| (b'A'..=b'Y').contains(c)), "{id}");
            letters.extend([b[0], b[1]]);
            assert_eq!(&id[2..5], "-44", "{id}");
            assert!(b[5..8].iter().all(u8::is_ascii_digit), "{id}");
            assert_eq!(&id[8..11], "-22", "{id}");
            assert!(b[11..].iter().all(u8::is_ascii_digit), "{id}");
            ids.insert(id);
        }
        // Every letter A..Y shows up, and never Z.
        assert_eq!(letters.len(), 25);
        assert!(!letters.contains(&b'Z'));
        assert_eq!(ids.len(), 10_000);
    }

    #[test]
    fn tracking_id_lengths_count_utf8_bytes() {
        let mut rng = StdRng::seed_from_u64(1);
        let id = tracking_id(", , ", &mut rng);
        // Salt ", , " is 4 bytes: XY-4DDD-2DDDDDDD.
        assert_eq!(id.len(), 16, "{id}");
        assert_eq!(&id[2..4], "-4", "{id}");
        assert_eq!(&id[7..9], "-2", "{id}");
        // "Straße 1, Köln, NRW": 19 characters, 21 bytes.
        let id = tracking_id("Straße 1, Köln, NRW", &mut rng);
        assert_eq!(&id[2..5], "-21", "{id}");
        assert_eq!(&id[8..11], "-10", "{id}");
    }
}
