//! Typed configuration from environment variables.
//!
//! Every reader takes an [`Env`] (the process environment in production, a map
//! in tests) and fails with a [`ConfigError`] that names the variable, so a
//! misconfigured pod says exactly what is wrong in one line at start-up.

use std::{collections::HashMap, fmt, net::SocketAddr, str::FromStr, time::Duration};

/// A source of configuration variables.
#[derive(Clone, Default)]
pub struct Env {
    overrides: Option<HashMap<String, String>>,
}

impl fmt::Debug for Env {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.overrides {
            None => f.write_str("Env(process)"),
            Some(m) => f.debug_map().entries(m.iter()).finish(),
        }
    }
}

impl Env {
    /// Reads the real process environment.
    pub fn process() -> Self {
        Self { overrides: None }
    }

    /// A fixed set of variables (tests, the all-in-one runner).
    pub fn from_pairs<K: Into<String>, V: Into<String>>(
        pairs: impl IntoIterator<Item = (K, V)>,
    ) -> Self {
        Self {
            overrides: Some(
                pairs
                    .into_iter()
                    .map(|(k, v)| (k.into(), v.into()))
                    .collect(),
            ),
        }
    }

    /// Raw value of `var`, if set (even when empty).
    pub fn raw(&self, var: &str) -> Option<String> {
        match &self.overrides {
            Some(m) => m.get(var).cloned(),
            None => std::env::var(var).ok(),
        }
    }

    /// Value of `var`, trimmed; `None` when unset or blank.
    pub fn get(&self, var: &str) -> Option<String> {
        self.raw(var)
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty())
    }

    /// A required, non-empty variable.
    pub fn required(&self, var: &'static str) -> Result<String, ConfigError> {
        self.get(var)
            .ok_or_else(|| ConfigError::new(var, "is required but not set"))
    }

    /// A required peer address in `host:port` form (what upstream's manifests set).
    pub fn peer_addr(&self, var: &'static str) -> Result<String, ConfigError> {
        let v = self.required(var)?;
        validate_host_port(&v).map_err(|why| {
            ConfigError::new(var, format!("{why} (got {v:?}, expected host:port)"))
        })?;
        Ok(v)
    }

    /// An optional peer address in `host:port` form.
    pub fn optional_peer_addr(&self, var: &'static str) -> Result<Option<String>, ConfigError> {
        match self.get(var) {
            None => Ok(None),
            Some(_) => self.peer_addr(var).map(Some),
        }
    }

    /// A value parsed with `FromStr`, or `default` when unset/blank.
    pub fn parse_or<T>(&self, var: &'static str, default: T) -> Result<T, ConfigError>
    where
        T: FromStr,
        T::Err: fmt::Display,
    {
        match self.get(var) {
            None => Ok(default),
            Some(v) => v
                .parse()
                .map_err(|e| ConfigError::new(var, format!("cannot parse {v:?}: {e}"))),
        }
    }

    /// A boolean flag: `true`/`1`/`yes`/`on` (any case) is true, unset is `default`.
    pub fn flag(&self, var: &'static str, default: bool) -> Result<bool, ConfigError> {
        match self.get(var) {
            None => Ok(default),
            Some(v) => match v.to_ascii_lowercase().as_str() {
                "1" | "true" | "yes" | "on" => Ok(true),
                "0" | "false" | "no" | "off" => Ok(false),
                _ => Err(ConfigError::new(
                    var,
                    format!("expected true or false, got {v:?}"),
                )),
            },
        }
    }

    /// A Go-style duration (`1.5s`, `100ms`, `2m`), or zero when unset/blank.
    pub fn go_duration(&self, var: &'static str) -> Result<Duration, ConfigError> {
        match self.get(var) {
            None => Ok(Duration::ZERO),
            Some(v) => parse_go_duration(&v)
                .map_err(|why| ConfigError::new(var, format!("{why} (got {v:?})"))),
        }
    }
}

/// A configuration problem, displayed as one line naming the variable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid configuration: {var} {message}")]
pub struct ConfigError {
    /// The variable at fault.
    pub var: &'static str,
    /// What is wrong with it.
    pub message: String,
}

impl ConfigError {
    pub fn new(var: &'static str, message: impl Into<String>) -> Self {
        Self {
            var,
            message: message.into(),
        }
    }
}

fn validate_host_port(v: &str) -> Result<(), &'static str> {
    if v.contains("://") {
        return Err("must not contain a scheme");
    }
    let (host, port) = v.rsplit_once(':').ok_or("has no port")?;
    if host.is_empty() {
        return Err("has no host");
    }
    port.parse::<u16>().map_err(|_| "has an invalid port")?;
    Ok(())
}

/// Parses Go's `time.ParseDuration` syntax: a sequence of decimal numbers with
/// units `ns`, `us`/`µs`, `ms`, `s`, `m`, `h` (e.g. `1h2m3.5s`); `0` alone is allowed.
/// Negative durations are rejected (they mean nothing for a delay).
pub fn parse_go_duration(s: &str) -> Result<Duration, String> {
    let mut rest = s.strip_prefix('+').unwrap_or(s);
    if rest.starts_with('-') {
        return Err("negative durations are not allowed".into());
    }
    if rest == "0" {
        return Ok(Duration::ZERO);
    }
    if rest.is_empty() {
        return Err("empty duration".into());
    }
    let mut total_nanos: f64 = 0.0;
    while !rest.is_empty() {
        let num_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let (num, tail) = rest.split_at(num_len);
        if num.is_empty() || num == "." {
            return Err("expected a number".into());
        }
        let value: f64 = num.parse().map_err(|_| format!("invalid number {num:?}"))?;
        let unit_len = tail
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(tail.len());
        let (unit, tail) = tail.split_at(unit_len);
        let scale = match unit {
            "ns" => 1.0,
            "us" | "µs" | "μs" => 1e3,
            "ms" => 1e6,
            "s" => 1e9,
            "m" => 60e9,
            "h" => 3600e9,
            "" => return Err("missing unit".into()),
            other => return Err(format!("unknown unit {other:?}")),
        };
        total_nanos += value * scale;
        rest = tail;
    }
    if !total_nanos.is_finite() || total_nanos > u64::MAX as f64 {
        return Err("duration out of range".into());
    }
    Ok(Duration::from_nanos(total_nanos.round() as u64))
}

/// The configuration of a service with no settings of its own (services
/// re-export it as their `Config`, so the runner and tests treat all alike).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct NoConfig;

impl NoConfig {
    /// Nothing to read beyond the runtime's variables.
    pub fn from_env(_env: &Env) -> Result<Self, ConfigError> {
        Ok(Self)
    }
}

/// Settings every service process shares (see `docs/CONVENTIONS.md`).
#[derive(Debug, Clone)]
pub struct RuntimeConfig {
    /// Short service name (`currencyservice`), used for logs and `service.name`.
    pub service_name: String,
    /// Main listener (`LISTEN_ADDR`:`PORT`).
    pub listen: SocketAddr,
    /// Metrics listener (`LISTEN_ADDR`:`METRICS_PORT`).
    pub metrics_listen: SocketAddr,
    /// OTLP export settings, when `ENABLE_TRACING=1`.
    pub tracing: Option<TracingConfig>,
    /// Upper bound on graceful shutdown.
    pub shutdown_grace: Duration,
}

/// Where spans go when tracing is on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TracingConfig {
    /// `host:port` of the OTLP/gRPC collector.
    pub collector_addr: String,
}

/// Default Prometheus port for every service.
pub const DEFAULT_METRICS_PORT: u16 = 9464;

impl RuntimeConfig {
    /// Reads `PORT`, `LISTEN_ADDR`, `METRICS_PORT`, `ENABLE_TRACING`,
    /// `COLLECTOR_SERVICE_ADDR`, `OTEL_SERVICE_NAME` and `SHUTDOWN_GRACE_SECONDS`.
    pub fn from_env(env: &Env, service: &str, default_port: u16) -> Result<Self, ConfigError> {
        let host: std::net::IpAddr =
            env.parse_or("LISTEN_ADDR", std::net::IpAddr::from([0, 0, 0, 0]))?;
        let port: u16 = env.parse_or("PORT", default_port)?;
        let metrics_port: u16 = env.parse_or("METRICS_PORT", DEFAULT_METRICS_PORT)?;
        let tracing = if env.raw("ENABLE_TRACING").as_deref().map(str::trim) == Some("1") {
            Some(TracingConfig {
                collector_addr: env.peer_addr("COLLECTOR_SERVICE_ADDR")?,
            })
        } else {
            None
        };
        let grace: u64 = env.parse_or("SHUTDOWN_GRACE_SECONDS", 10)?;
        Ok(Self {
            service_name: env
                .get("OTEL_SERVICE_NAME")
                .unwrap_or_else(|| service.to_owned()),
            listen: SocketAddr::new(host, port),
            metrics_listen: SocketAddr::new(host, metrics_port),
            tracing,
            shutdown_grace: Duration::from_secs(grace),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_durations() {
        assert_eq!(parse_go_duration("0"), Ok(Duration::ZERO));
        assert_eq!(parse_go_duration("100ms"), Ok(Duration::from_millis(100)));
        assert_eq!(parse_go_duration("5.5s"), Ok(Duration::from_millis(5500)));
        assert_eq!(parse_go_duration("1h2m3s"), Ok(Duration::from_secs(3723)));
        assert_eq!(parse_go_duration("250us"), Ok(Duration::from_micros(250)));
        assert!(parse_go_duration("5").is_err());
        assert!(parse_go_duration("abc").is_err());
        assert!(parse_go_duration("-1s").is_err());
        assert!(parse_go_duration("1x").is_err());
    }

    #[test]
    fn errors_name_the_variable() {
        let env = Env::from_pairs([("PORT", "eighty"), ("X_ADDR", "nohostport")]);
        let e = RuntimeConfig::from_env(&env, "svc", 1).unwrap_err();
        assert_eq!(e.var, "PORT");
        assert_eq!(
            e.to_string(),
            "invalid configuration: PORT cannot parse \"eighty\": invalid digit found in string"
        );
        let e = env.peer_addr("X_ADDR").unwrap_err();
        assert!(
            e.to_string()
                .starts_with("invalid configuration: X_ADDR has no port"),
            "{e}"
        );
        let e = env.peer_addr("MISSING_ADDR").unwrap_err();
        assert_eq!(
            e.to_string(),
            "invalid configuration: MISSING_ADDR is required but not set"
        );
    }

    #[test]
    fn defaults_and_tracing() {
        let env = Env::from_pairs([
            ("ENABLE_TRACING", "1"),
            ("COLLECTOR_SERVICE_ADDR", "otel:4317"),
        ]);
        let c = RuntimeConfig::from_env(&env, "svc", 3550).unwrap();
        assert_eq!(c.listen.port(), 3550);
        assert_eq!(c.metrics_listen.port(), DEFAULT_METRICS_PORT);
        assert_eq!(
            c.tracing,
            Some(TracingConfig {
                collector_addr: "otel:4317".into()
            })
        );
        let env = Env::from_pairs([("ENABLE_TRACING", "1")]);
        assert_eq!(
            RuntimeConfig::from_env(&env, "svc", 1).unwrap_err().var,
            "COLLECTOR_SERVICE_ADDR"
        );
        let env = Env::from_pairs([("ENABLE_TRACING", "true")]);
        assert!(
            RuntimeConfig::from_env(&env, "svc", 1)
                .unwrap()
                .tracing
                .is_none()
        );
    }
}
