#!/usr/bin/env bash
# Every test: the Rust workspace (unit and integration tests over real
# sockets), then the dashboard in a real headless Chromium against the
# real engine binary. Needs Node.js and Chromium (Debian: apt-get install
# chromium); .ci/run installs them on a fresh machine.
set -euo pipefail
cd "$(dirname "$0")/.."

cargo test --workspace --exclude laicai-peers --locked

# The browser tests drive the binary the tests above built.
export LAICAI_BIN="${LAICAI_BIN:-$PWD/target/debug/laicai}"
cd tests/browser
if [ ! -d node_modules/playwright-core ]; then
  npm ci --no-audit --no-fund
fi
npm test
