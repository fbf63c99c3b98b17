//! The runtime every Online Boutique service shares: typed configuration,
//! JSON logs and OpenTelemetry traces, Prometheus metrics, gRPC server and
//! client plumbing (health, reflection, deadlines, trace propagation),
//! runtime sizing from the cgroup CPU limit, and graceful shutdown.

pub mod cgroup;
pub mod config;
pub mod descriptor;
pub mod grpc;
pub mod healthcheck;
pub mod metrics;
pub mod run;
pub mod telemetry;

pub use config::{ConfigError, Env, NoConfig, RuntimeConfig};
pub use grpc::{DEFAULT_CALL_TIMEOUT, GrpcServer, PeerChannel, ServeError};
pub use healthcheck::Probe;
pub use run::{ServiceInfo, Shutdown, run};
pub use tonic_health::{ServingStatus, server::HealthReporter};
