# syntax=docker/dockerfile:1
# SSE Store images. Targets:
#   prod  the server: compiled JavaScript under plain node, runtime dependencies only, non-root,
#         data in the /data volume, a health check on /ready
#   test  the type check and the whole test suite (`npm test`), SoftHSM2 and Chromium included
#   docker build --target prod -t sse-store .      docker build --target test -t sse-store-test . && docker run --rm sse-store-test

# The base image, pinned by digest: every build starts from the same bytes, and a tag moved on the
# registry (or poisoned) changes nothing until the digest is bumped on purpose. To move to a newer
# node:20-bookworm-slim, take the digest the registry lists for the tag (multi-platform index):
#   docker buildx imagetools inspect node:20-bookworm-slim --format '{{json .Manifest.Digest}}'
# and put it here (or pass --build-arg NODE_IMAGE=node:20-bookworm-slim@sha256:…).
ARG NODE_IMAGE=node:20-bookworm-slim@sha256:2cf067cfed83d5ea958367df9f966191a942351a2df77d6f0193e162b5febfc0
# The npm that wrote package-lock.json; npm 11 reads the allowScripts list in package.json.
ARG NPM_VERSION=11.19.1

# --- base: the OS and Node of every stage, so native addons built below run in prod ----------
FROM ${NODE_IMAGE} AS base
WORKDIR /app

# --- deps: every package, native addons compiled or fetched (pkcs11js has no prebuild) --------
FROM base AS deps
ARG NPM_VERSION
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && npm install --global --no-audit --no-fund "npm@${NPM_VERSION}" \
 && npm cache clean --force
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund

# --- build: TypeScript to dist/ (`npm run build`) ---------------------------------------------
FROM deps AS build
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
# npm run build also bundles the web console into dist/console (the prod image has no console/).
COPY console ./console
RUN npm run build

# --- prod-deps: the same node_modules without dev dependencies (the addons stay compiled): no
# TypeScript, tsx or esbuild in the image; dist/ is plain JavaScript and dist/console is bundled.
FROM deps AS prod-deps
RUN npm prune --omit=dev --no-audit --no-fund && npm cache clean --force

# --- prod ---------------------------------------------------------------------------------------
FROM base AS prod
# MALLOC_ARENA_MAX: glibc gives each thread that allocates its own malloc arena, and every arena
# keeps its high-water mark; two arenas hold about 5 MB less at no measured throughput cost.
ENV NODE_ENV=production \
    MALLOC_ARENA_MAX=2 \
    SSE_HOST=0.0.0.0 \
    SSE_PORT=8000 \
    SSE_DATA_DIR=/data
# package.json sits beside dist/: dist/version.js reads ../package.json.
COPY package.json ./
COPY --from=prod-deps /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
# The ssestore command (it runs dist/cli/main.js): `docker compose exec sse-store ssestore …`.
COPY bin ./bin
# The volume starts out owned by the unprivileged user that runs the server.
RUN ln -s /app/bin/ssestore.js /usr/local/bin/ssestore \
 && mkdir -p /data && chown node:node /data && chmod 0700 /data
VOLUME ["/data"]
USER node
EXPOSE 8000
# /ready: the store and the key provider are usable. dist/healthcheck.js asks SSE_HOST:SSE_PORT,
# through the loopback when SSE_HOST is a wildcard (0.0.0.0, ::).
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "dist/healthcheck.js"]
# The server drains on SIGTERM within SSE_SHUTDOWN_TIMEOUT (30 s): give `docker stop -t` more.
STOPSIGNAL SIGTERM
# A 4 MB young generation (V8's default grows to 16 MB): about 5 to 10 MB less resident memory, no
# measurable cost in the benchmarks.
CMD ["node", "--max-semi-space-size=4", "dist/main.js"]

# --- test: type check and the suite, as a non-root user (PostgreSQL refuses to run as root) ---
# The same system packages as .ci/run: SoftHSM2 (pkcs11), the sqlite3 shell (the documented
# backup), Chromium (the console's browser tests) and real S3 clients (rclone, restic, the aws CLI,
# s3cmd, boto3; the image has no pip, so Debian's python3-boto3); without them those tests are skipped.
FROM deps AS test
RUN apt-get update \
 && apt-get install -y --no-install-recommends softhsm2 sqlite3 chromium rclone restic awscli s3cmd python3-boto3 \
 && rm -rf /var/lib/apt/lists/*
# What the suite reads, named one by one: never secrets/ or .env, even if .dockerignore were lost.
COPY --chown=node:node package.json package-lock.json tsconfig.json tsconfig.build.json vitest.config.ts biome.json README.md Dockerfile compose.yaml .dockerignore ./
COPY --chown=node:node .ci ./.ci
COPY --chown=node:node src ./src
COPY --chown=node:node console ./console
COPY --chown=node:node test ./test
COPY --chown=node:node bench ./bench
COPY --chown=node:node bin ./bin
COPY --chown=node:node docs ./docs
# node_modules stays root's (read-only); only the app dir and Vite's cache are the user's.
RUN chown node:node /app && mkdir -p node_modules/.vite && chown node:node node_modules/.vite
USER node
CMD ["sh", "-c", "npm run typecheck && npm test"]
