# syntax=docker/dockerfile:1
# image: registry.lan:5000/tools/upkeep:0.2.0
#
# The upkeep image: the binary, git and CA certificates on Debian slim, running as a
# non-root user. The entrypoint is `upkeep`; with no arguments it runs `upkeep lint`, which
# reads the Woodpecker plugin settings (PLUGIN_PATH, PLUGIN_FORMAT, PLUGIN_STRICT,
# PLUGIN_CONFIG, PLUGIN_BASELINE, PLUGIN_OUTPUT). Any other command is given as arguments:
# `serve --listen 0.0.0.0:8080 …` in a Deployment, `outdated`, `bump` in a cron pipeline.
#
#   podman build -t registry.lan:5000/tools/upkeep:0.2.0 .      # or buildah bud, docker build
#
# Base images are arguments, so a mirror (or a locally made base) can stand in for Docker Hub.
ARG RUST_IMAGE=docker.io/library/rust:1.89-slim-bookworm
ARG RUNTIME_IMAGE=docker.io/library/debian:bookworm-slim

FROM ${RUST_IMAGE} AS build
# libgit2, zlib, SQLite and jemalloc are compiled in (the slim image has the C compiler;
# jemalloc's build also needs make), and TLS is rustls (no OpenSSL).
RUN apt-get update \
 && apt-get install -y --no-install-recommends make \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN cargo build --release --locked -p upkeep \
 && strip target/release/upkeep \
 && ./target/release/upkeep --version

FROM ${RUNTIME_IMAGE}
# git: bump fetches, pushes and lists tags with it; openssh-client: ssh remotes;
# ca-certificates: the CA store that git and upkeep's HTTPS clients (rustls) trust. A checkout
# owned by another user (a CI workspace, a mounted volume) is trusted: upkeep only works in the
# folder it is pointed at.
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates git openssh-client \
 && rm -rf /var/lib/apt/lists/* \
 && git config --system --add safe.directory '*' \
 && useradd --uid 10001 --user-group --create-home --home-dir /home/upkeep upkeep
COPY --from=build /src/target/release/upkeep /usr/local/bin/upkeep
USER 10001:10001
ENV HOME=/home/upkeep
WORKDIR /home/upkeep
ENTRYPOINT ["/usr/local/bin/upkeep"]
CMD ["lint"]
