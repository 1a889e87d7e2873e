#!/usr/bin/env bash
# Installs what building and testing ssrt needs on a fresh Debian machine:
#   - cmake + libsimde-dev: the QuickJS engine of deno_core builds WAMR with CMake
#     against Debian's simde headers (see build/cmake-toolchain.cmake);
#   - redis-server (and redis-cli): the tests start their own Redis servers;
#   - chromium + chromium-driver: the browser tests drive headless Chromium;
#   - postgresql + mariadb-server: tests/integration/node.rs starts its own database servers
#     for the npm drivers (pg, mysql) of fixtures/node;
#   - libclang-dev: crates under deno_runtime (libsqlite3-sys, libuv-sys-lite…)
#     run bindgen when they build;
#   - the npm packages pinned in js/package-lock.json (the CoffeeScript, Jade
#     and Stylus compilers, Node built-in polyfills), which are embedded into
#     the binary at build time;
#   - the npm packages pinned in each fixture's package-lock.json (fixtures/node:
#     database drivers; fixtures/chat-0.2: Connect 1.x), which those fixture
#     apps load from their own node_modules at run time.
# Safe to run again: it installs only what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(cmake libsimde-dev libclang-dev redis-server redis-tools chromium chromium-driver
  postgresql mariadb-server)
missing=()
for package in "${packages[@]}"; do
  dpkg -s "$package" >/dev/null 2>&1 || missing+=("$package")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing Debian packages: ${missing[*]}"
  sudo_cmd=""
  [ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq "${missing[@]}" >/dev/null
fi

# npm ci rewrites node_modules, which rebuilds every crate that embeds it: only when needed.
if [ ! -f js/node_modules/.package-lock.json ] || [ js/package-lock.json -nt js/node_modules/.package-lock.json ]; then
  echo "setup: installing the pinned npm packages into js/node_modules"
  npm ci --prefix js --ignore-scripts --no-audit --no-fund --loglevel=error
fi
for fixture in fixtures/*/; do
  fixture=${fixture%/}
  [ -f "$fixture/package-lock.json" ] || continue
  if [ ! -f "$fixture/node_modules/.package-lock.json" ] || [ "$fixture/package-lock.json" -nt "$fixture/node_modules/.package-lock.json" ]; then
    echo "setup: installing the npm packages of $fixture into $fixture/node_modules"
    npm ci --prefix "$fixture" --no-audit --no-fund --loglevel=error
  fi
done
echo "setup: ready"
