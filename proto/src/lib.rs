//! Generated Rust types for the Online Boutique protocols.
//!
//! * [`hipstershop`]: the shop's services and messages, wire-identical to upstream.
//! * [`health`]: `grpc.health.v1` client and server types.
//! * [`FILE_DESCRIPTOR_SET`]: both files' descriptors, for gRPC server reflection.

#[allow(clippy::all, clippy::pedantic, missing_docs, rust_2018_idioms)]
pub mod hipstershop {
    tonic::include_proto!("hipstershop");
}

#[allow(clippy::all, clippy::pedantic, missing_docs, rust_2018_idioms)]
pub mod health {
    tonic::include_proto!("grpc.health.v1");
}

/// Encoded `FileDescriptorSet` of `hipstershop.proto` and `health.proto`.
pub const FILE_DESCRIPTOR_SET: &[u8] = tonic::include_file_descriptor_set!("boutique_descriptor");

/// Fully-qualified gRPC service names, as health checks and reflection know them.
pub mod service_names {
    pub const AD: &str = "hipstershop.AdService";
    pub const CART: &str = "hipstershop.CartService";
    pub const CHECKOUT: &str = "hipstershop.CheckoutService";
    pub const CURRENCY: &str = "hipstershop.CurrencyService";
    pub const EMAIL: &str = "hipstershop.EmailService";
    pub const PAYMENT: &str = "hipstershop.PaymentService";
    pub const PRODUCT_CATALOG: &str = "hipstershop.ProductCatalogService";
    pub const RECOMMENDATION: &str = "hipstershop.RecommendationService";
    pub const SHIPPING: &str = "hipstershop.ShippingService";
}
