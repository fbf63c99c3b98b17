//! Generates the Rust types for our protos with a vendored `protoc`, so a
//! fresh machine needs no system protobuf compiler.
use std::{env, error::Error, path::PathBuf};

fn main() -> Result<(), Box<dyn Error>> {
    let protos = [
        "protos/hipstershop.proto",
        "protos/grpc/health/v1/health.proto",
    ];
    for p in &protos {
        println!("cargo:rerun-if-changed={p}");
    }
    let out = PathBuf::from(env::var("OUT_DIR")?);

    let mut config = prost_build::Config::new();
    config.protoc_executable(protoc_bin_vendored::protoc_bin_path()?);

    tonic_prost_build::configure()
        .file_descriptor_set_path(out.join("boutique_descriptor.bin"))
        .compile_with_config(config, &protos, &["protos"])?;
    Ok(())
}
