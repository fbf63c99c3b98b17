//! Method lists read from the compiled file descriptor set.

use std::sync::OnceLock;

use prost::Message as _;
use prost_types::FileDescriptorSet;

fn set() -> &'static FileDescriptorSet {
    static SET: OnceLock<FileDescriptorSet> = OnceLock::new();
    SET.get_or_init(|| {
        FileDescriptorSet::decode(boutique_proto::FILE_DESCRIPTOR_SET).unwrap_or_default()
    })
}

/// Method names of the fully-qualified gRPC service `service`
/// (e.g. `hipstershop.CartService`); empty when unknown.
pub fn methods(service: &str) -> Vec<String> {
    let (package, name) = service.rsplit_once('.').unwrap_or(("", service));
    set()
        .file
        .iter()
        .filter(|f| f.package() == package)
        .flat_map(|f| f.service.iter())
        .filter(|s| s.name() == name)
        .flat_map(|s| s.method.iter().map(|m| m.name().to_owned()))
        .collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn lists_methods() {
        assert_eq!(
            super::methods("hipstershop.CartService"),
            ["AddItem", "GetCart", "EmptyCart"]
        );
        assert_eq!(super::methods("grpc.health.v1.Health"), ["Check", "Watch"]);
        assert!(super::methods("hipstershop.Nope").is_empty());
    }
}
