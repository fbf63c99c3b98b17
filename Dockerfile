# Online Boutique in Rust: one Dockerfile, one target per service.
#
#   docker buildx bake                                  # every image, linux/amd64 + linux/arm64 (docker-bake.hcl)
#   docker buildx build --target cartservice --platform linux/arm64 .
#   docker buildx build --target binaries --output type=local,dest=dist .   # just the static binaries
#
# Needs BuildKit (Docker >= 23 or buildx). Multi-arch without emulation: every
# compiling stage runs on $BUILDPLATFORM and cross-compiles static musl binaries
# for $TARGETPLATFORM with cargo-zigbuild (zig as the C compiler and linker).
# Runtime images are `scratch` + one binary: no shell, no libc, no package
# manager, numeric non-root user 65532, read-only root filesystem friendly.
# Base images are pinned by digest; bump the tag and the digest together.

############################################################################
# toolchain: Rust + musl targets + zig + cargo-zigbuild + cargo-chef.
# Identical for every target platform, so BuildKit builds it once.
############################################################################
FROM --platform=$BUILDPLATFORM rust:1.95.0-slim-bookworm@sha256:d7482085ff5b415f84dba5647ae71606650bdef00db7aeb69f4b3d170c3e4082 AS toolchain

ARG CARGO_CHEF_VERSION=0.1.77
ARG CARGO_ZIGBUILD_VERSION=0.23.4
ARG ZIGLANG_VERSION=0.15.2

SHELL ["/bin/bash", "-o", "pipefail", "-c"]

# python3-venv only to install zig and cargo-zigbuild from PyPI (both ship
# prebuilt binaries there); its version is bookworm's, bump it with the base image.
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3-venv=3.11.2-1+b1 \
 && rm -rf /var/lib/apt/lists/*

ENV PATH=/opt/zigbuild/bin:$PATH \
    CARGO_ZIGBUILD_PYTHON_PATH=/opt/zigbuild/bin/python3 \
    CARGO_TERM_COLOR=never \
    CARGO_INCREMENTAL=0

RUN python3 -m venv /opt/zigbuild \
 && /opt/zigbuild/bin/pip install --no-cache-dir \
      "cargo-zigbuild==${CARGO_ZIGBUILD_VERSION}" "ziglang==${ZIGLANG_VERSION}" \
 && cargo-zigbuild --version \
 && python3 -m ziglang version \
 && rustup target add x86_64-unknown-linux-musl aarch64-unknown-linux-musl \
 && cargo install --locked --version "${CARGO_CHEF_VERSION}" cargo-chef \
 && rm -rf "${CARGO_HOME}/registry" "${CARGO_HOME}/git"

WORKDIR /src

############################################################################
# planner: the dependency recipe (changes only when manifests or Cargo.lock do)
############################################################################
FROM toolchain AS planner
COPY . .
RUN cargo chef prepare --recipe-path recipe.json

############################################################################
# builder: dependencies (cached layer), then every service binary at once
############################################################################
FROM toolchain AS builder
ARG TARGETARCH
RUN case "${TARGETARCH}" in \
      amd64) echo x86_64-unknown-linux-musl ;; \
      arm64) echo aarch64-unknown-linux-musl ;; \
      *) echo "unsupported TARGETARCH '${TARGETARCH}' (linux/amd64 and linux/arm64 are)" >&2; exit 1 ;; \
    esac > /rust-target

COPY --from=planner /src/recipe.json recipe.json
RUN cargo chef cook --release --zigbuild --target "$(cat /rust-target)" --recipe-path recipe.json

COPY . .
# Every services/<name> crate except `boutique` (the all-in-one local runner,
# not an image). Static-pie musl binaries, stripped by the release profile.
RUN target="$(cat /rust-target)" \
 && set -- \
 && names="" \
 && for m in services/*/Cargo.toml; do \
      name="${m#services/}"; name="${name%/Cargo.toml}"; \
      if [ "${name}" != boutique ]; then set -- "$@" -p "${name}"; names="${names} ${name}"; fi; \
    done \
 && cargo zigbuild --release --locked --target "${target}" "$@" --bins \
 && mkdir -p /out \
 && for name in ${names}; do cp "target/${target}/release/${name}" /out/; done \
 && ls -l /out

############################################################################
# runtime: what every service image shares
############################################################################
FROM scratch AS runtime
ARG VERSION=dev
ARG REVISION=unknown
ARG CREATED
ARG SOURCE=https://github.com/boutique-rs/online-boutique-rs
LABEL org.opencontainers.image.source="${SOURCE}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.created="${CREATED}" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.vendor="boutique-rs" \
      org.opencontainers.image.base.name="scratch"
USER 65532:65532

############################################################################
# one target per service: /app/<service>, canonical port + metrics port 9464,
# shell-less health check through the binary's own `healthcheck` argument
############################################################################
FROM runtime AS adservice
COPY --from=builder /out/adservice /app/adservice
LABEL org.opencontainers.image.title="adservice" \
      org.opencontainers.image.description="Online Boutique ad service (gRPC hipstershop.AdService), Rust"
EXPOSE 9555 9464
ENTRYPOINT ["/app/adservice"]
HEALTHCHECK --interval=10s --timeout=5s --start-period=5s --retries=3 CMD ["/app/adservice", "healthcheck"]

FROM runtime AS cartservice
COPY --from=builder /out/cartservice /app/cartservice
LABEL org.opencontainers.image.title="cartservice" \
      org.opencontainers.image.description="Online Boutique cart service (gRPC hipstershop.CartService, Redis or in-memory), Rust"
EXPOSE 7070 9464
ENTRYPOINT ["/app/cartservice"]
HEALTHCHECK --interval=10s --timeout=5s --start-period=5s --retries=3 CMD ["/app/cartservice", "healthcheck"]

FROM runtime AS checkoutservice
COPY --from=builder /out/checkoutservice /app/checkoutservice
LABEL org.opencontainers.image.title="checkoutservice" \
      org.opencontainers.image.description="Online Boutique checkout service (gRPC hipstershop.CheckoutService), Rust"
EXPOSE 5050 9464
ENTRYPOINT ["/app/checkoutservice"]
HEALTHCHECK --interval=10s --timeout=5s --start-period=5s --retries=3 CMD ["/app/checkoutservice", "healthcheck"]

FROM runtime AS currencyservice
COPY --from=builder /out/currencyservice /app/currencyservice
LABEL org.opencontainers.image.title="currencyservice" \
      org.opencontainers.image.description="Online Boutique currency service (gRPC hipstershop.CurrencyService), Rust"
EXPOSE 7000 9464
ENTRYPOINT ["/app/currencyservice"]
HEALTHCHECK --interval=10s --timeout=5s --start-period=5s --retries=3 CMD ["/app/currencyservice", "healthcheck"]

FROM runtime AS emailservice
COPY --from=builder /out/emailservice /app/emailservice
LABEL org.opencontainers.image.title="emailservice" \
      org.opencontainers.image.description="Online Boutique email service (gRPC hipstershop.EmailService), Rust"
EXPOSE 8080 9464
ENTRYPOINT ["/app/emailservice"]
HEALTHCHECK --interval=10s --timeout=5s --start-period=5s --retries=3 CMD ["/app/emailservice", "healthcheck"]

FROM runtime AS frontend
COPY --from=builder /out/frontend /app/frontend
LABEL org.opencontainers.image.title="frontend" \
      org.opencontainers.image.description="Online Boutique web frontend (HTTP, templates and static files embedded), Rust"
EXPOSE 8080 9464
ENTRYPOINT ["/app/frontend"]
HEALTHCHECK --interval=10s --timeout=5s --start-period=5s --retries=3 CMD ["/app/frontend", "healthcheck"]

# The load generator is an HTTP client: no port to expose or probe.
FROM runtime AS loadgenerator
COPY --from=builder /out/loadgenerator /app/loadgenerator
LABEL org.opencontainers.image.title="loadgenerator" \
      org.opencontainers.image.description="Online Boutique load generator (upstream's user flows against the frontend), Rust"
ENTRYPOINT ["/app/loadgenerator"]

FROM runtime AS paymentservice
COPY --from=builder /out/paymentservice /app/paymentservice
LABEL org.opencontainers.image.title="paymentservice" \
      org.opencontainers.image.description="Online Boutique payment service (gRPC hipstershop.PaymentService), Rust"
EXPOSE 50051 9464
ENTRYPOINT ["/app/paymentservice"]
HEALTHCHECK --interval=10s --timeout=5s --start-period=5s --retries=3 CMD ["/app/paymentservice", "healthcheck"]

FROM runtime AS productcatalogservice
COPY --from=builder /out/productcatalogservice /app/productcatalogservice
LABEL org.opencontainers.image.title="productcatalogservice" \
      org.opencontainers.image.description="Online Boutique product catalog service (gRPC hipstershop.ProductCatalogService), Rust"
EXPOSE 3550 9464
ENTRYPOINT ["/app/productcatalogservice"]
HEALTHCHECK --interval=10s --timeout=5s --start-period=5s --retries=3 CMD ["/app/productcatalogservice", "healthcheck"]

FROM runtime AS recommendationservice
COPY --from=builder /out/recommendationservice /app/recommendationservice
LABEL org.opencontainers.image.title="recommendationservice" \
      org.opencontainers.image.description="Online Boutique recommendation service (gRPC hipstershop.RecommendationService), Rust"
EXPOSE 8080 9464
ENTRYPOINT ["/app/recommendationservice"]
HEALTHCHECK --interval=10s --timeout=5s --start-period=5s --retries=3 CMD ["/app/recommendationservice", "healthcheck"]

FROM runtime AS shippingservice
COPY --from=builder /out/shippingservice /app/shippingservice
LABEL org.opencontainers.image.title="shippingservice" \
      org.opencontainers.image.description="Online Boutique shipping service (gRPC hipstershop.ShippingService), Rust"
EXPOSE 50051 9464
ENTRYPOINT ["/app/shippingservice"]
HEALTHCHECK --interval=10s --timeout=5s --start-period=5s --retries=3 CMD ["/app/shippingservice", "healthcheck"]

############################################################################
# binaries: the default target, all static binaries of one platform, for
# `--output type=local` (release assets, local runs). Not an image to push.
############################################################################
FROM scratch AS binaries
COPY --from=builder /out/ /
USER 65532:65532
