# syntax=docker/dockerfile:1
#
# todo-api container image: a glibc release binary on distroless (no shell, no package manager).
#
#   docker build -t todo-api .            (BuildKit; `docker compose build` does the same)
#
# The `release-build:` line is THE release build, kept in this one place: CI (.ci/run) builds and
# starts the binary with exactly this command and no RUSTFLAGS, since no Docker engine runs there
# (`sed -n 's/^# release-build: //p' Dockerfile`); deploy/tests/test_container.py checks that the
# RUN below matches it. The release profile (LTO, codegen-units, strip) lives in Cargo.toml and is
# not overridden here.
#
# release-build: cargo build --release --locked --target x86_64-unknown-linux-gnu --bin todo-api
#
# Images are pinned by tag: the builder's Rust matches rust-version in Cargo.toml, and both
# stages are Debian 12 (bookworm), so the binary's glibc is the one the runtime ships.

# --- chef: the toolchain plus cargo-chef, which turns the manifests into a dependency recipe ---
FROM rust:1.95-bookworm AS chef
ENV CARGO_TERM_COLOR=never \
    CARGO_INCREMENTAL=0
RUN cargo install cargo-chef@0.1.77 --locked
WORKDIR /build

# --- planner: the recipe changes only when Cargo.toml or Cargo.lock change ---
FROM chef AS planner
COPY Cargo.toml Cargo.lock ./
COPY src ./src
COPY migrations ./migrations
RUN cargo chef prepare --recipe-path recipe.json

# --- builder: dependencies in their own cached layer, then the crate itself ---
FROM chef AS builder
COPY --from=planner /build/recipe.json recipe.json
# Same flags as the final build, or the cooked artifacts would not be reused.
RUN cargo chef cook --release --locked --target x86_64-unknown-linux-gnu --bin todo-api --recipe-path recipe.json
COPY Cargo.toml Cargo.lock ./
COPY src ./src
# sqlx::migrate! embeds migrations/ into the binary at compile time.
COPY migrations ./migrations
RUN cargo build --release --locked --target x86_64-unknown-linux-gnu --bin todo-api \
    && install -D -m 0555 target/x86_64-unknown-linux-gnu/release/todo-api /out/todo-api

# --- runtime: distroless cc (glibc, libgcc, CA certificates), running as uid 65532 ---
FROM gcr.io/distroless/cc-debian12:nonroot AS runtime
LABEL org.opencontainers.image.title="todo-api" \
      org.opencontainers.image.description="ToDo REST API (drop-in replacement for the FastAPI sample app)" \
      org.opencontainers.image.licenses="MIT"
COPY --from=builder --chown=0:0 /out/todo-api /usr/local/bin/todo-api
# CA bundles for verified TLS to the database (sslrootcert=/etc/todo-api/ca/...): the AWS build
# adds the pinned RDS bundle here; without it (a local build) the folder holds only its README.
COPY --chown=0:0 deploy/container/ca/ /etc/todo-api/ca/
# PORT is the API listener (Cloud Run overrides it with 8080); metrics stay on METRICS_PORT
# (9000), which is deliberately not EXPOSEd: no load balancer may reach it.
ENV PORT=8000 \
    LOG_FORMAT=json
# The distroless "nonroot" user, written numerically so Kubernetes' runAsNonRoot can verify it.
USER 65532:65532
EXPOSE 8000
# Liveness only (/livez, no database call): a database outage must not mark replicas unhealthy.
HEALTHCHECK --interval=30s --timeout=5s --start-period=15s --retries=3 \
    CMD ["/usr/local/bin/todo-api", "healthcheck"]
ENTRYPOINT ["/usr/local/bin/todo-api"]
CMD ["serve"]
