# syntax=docker/dockerfile:1
# The scim-bridge image: the gateway (`scim-bridge`) and the vendor simulators (`vendor-sim`),
# built in one stage and copied into a small Debian runtime that runs as a non-root user.
#
#   docker build -t scim-bridge .
#   docker run --rm -v "$PWD/examples/directory.toml:/etc/scim-bridge/config.toml:ro" \
#     -e SCIM_BRIDGE_SERVER__LISTEN=0.0.0.0:8080 -p 8080:8080 scim-bridge
#
# tests/e2e/deploy.rs checks this file against the workspace (packages, binaries, flags, the
# Rust version); see the README, "Running with Docker Compose".

# The builder's Rust must be at least the workspace's rust-version (Cargo.toml). Bookworm on
# both stages, so the binaries find the glibc they were linked against.
FROM rust:1.95-slim-bookworm AS build
WORKDIR /src
COPY . .
# The registry and the target directory are cache mounts, so a rebuild after a source change
# recompiles only what changed; the binaries are copied out of the mount in the same step.
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked -p scim-bridge -p vendor-sim \
    && mkdir -p /out \
    && cp target/release/scim-bridge target/release/vendor-sim /out/

FROM debian:bookworm-slim AS runtime
# ca-certificates: vendor APIs, JWKS endpoints and PostgreSQL are reached over TLS.
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --system --gid 10001 scim \
    && useradd --system --uid 10001 --gid scim --home-dir /var/lib/scim-bridge --shell /usr/sbin/nologin scim \
    && mkdir -p /etc/scim-bridge /var/lib/scim-bridge \
    && chown scim:scim /var/lib/scim-bridge
COPY --from=build /out/scim-bridge /out/vendor-sim /usr/local/bin/
# The working directory is writable by the user: a configuration with
# url = "sqlite://scim-bridge.db" keeps its file here (mount a volume on it).
WORKDIR /var/lib/scim-bridge
USER 10001:10001
EXPOSE 8080
# No HEALTHCHECK here: the image has no HTTP client, the port is the configuration's, and the
# same image also runs vendor-sim. docker-compose.yml probes /readyz with bash's /dev/tcp.
ENTRYPOINT ["scim-bridge"]
CMD ["serve", "--config", "/etc/scim-bridge/config.toml"]
