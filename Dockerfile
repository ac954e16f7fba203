# The CAMINO agent's image: `docker build -t registry.example.com/camino/agent:0.1.0 .`
# Two stages: the build stage compiles TypeScript with the dev dependencies; the runtime stage gets only the
# compiled JavaScript, the production dependencies and the sample blueprints, and runs as a non-root user.
# No key, token, certificate or config is copied in: they come from Secrets and a ConfigMap at run time
# (deploy/kpt/camino-agent), and .dockerignore keeps them (and .camino/, node_modules/) out of the context.

# Node 20, pinned to an exact release and Debian release (Node 22+ majors of some dependencies break on 20).
FROM node:20.20.2-bookworm-slim AS build
WORKDIR /src
COPY package.json package-lock.json ./
# --ignore-scripts: `prepare` would build before the sources are here; the build runs below.
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY agent ./agent
COPY common ./common
COPY federation ./federation
COPY emulator ./emulator
COPY bench ./bench
COPY gen ./gen
COPY scripts ./scripts
COPY types ./types
COPY test/helpers ./test/helpers
RUN npm run build && npm prune --omit=dev --no-audit --no-fund

FROM node:20.20.2-bookworm-slim
ENV NODE_ENV=production
# jemalloc as the allocator: glibc's kept tens of MiB of freed memory in its heap at thousands of intents
# (agent/util/allocator.ts, docs/scale.md). Linked at a path that does not depend on the architecture.
RUN apt-get update \
  && apt-get install -y --no-install-recommends libjemalloc2 \
  && rm -rf /var/lib/apt/lists/* \
  && ln -s "/usr/lib/$(uname -m)-linux-gnu/libjemalloc.so.2" /usr/local/lib/libjemalloc.so.2
ENV LD_PRELOAD=/usr/local/lib/libjemalloc.so.2
# Freed pages go back within a second, from jemalloc's own thread (JEMALLOC_CONF in agent/util/allocator.ts).
ENV MALLOC_CONF=background_thread:true,dirty_decay_ms:1000,muzzy_decay_ms:0
# A fixed, unprivileged uid/gid that the Deployment's securityContext names (runAsUser 10001).
RUN groupadd --system --gid 10001 camino \
  && useradd --system --uid 10001 --gid camino --home-dir /var/lib/camino --no-create-home --shell /usr/sbin/nologin camino \
  && mkdir -p /var/lib/camino /etc/camino \
  && chown camino:camino /var/lib/camino
WORKDIR /app
COPY --from=build /src/package.json /src/package-lock.json ./
COPY --from=build /src/node_modules ./node_modules
COPY --from=build /src/dist ./dist
COPY bin ./bin
# The sample catalogue, for a blueprint repository seeded from it (`seedFrom: /app/blueprints`).
COPY blueprints ./blueprints
USER 10001:10001
# gRPC (HTTP/2), HTTP/1.1 (Connect, gRPC-Web, /metrics), federation (TLS).
EXPOSE 50051 8080 50052
VOLUME ["/var/lib/camino"]
ENTRYPOINT ["node", "/app/bin/camino.js"]
CMD ["agent", "--config", "/etc/camino/config/camino.yaml"]
