#!/usr/bin/env bash
# Every test: the Rust workspace (unit and integration tests over real
# sockets), then the dashboard in a real headless Chromium and the Python
# SDK (pytest, mypy), both against the real engine binary. Needs Node.js,
# Chromium (Debian: apt-get install chromium) and Python 3.10+ with venv;
# .ci/run installs what a fresh machine lacks.
set -euo pipefail
cd "$(dirname "$0")/.."

cargo test --workspace --exclude laicai-peers --locked

# The browser tests drive the binary the tests above built.
export LAICAI_BIN="${LAICAI_BIN:-$PWD/target/debug/laicai}"
(
  cd tests/browser
  if [ ! -d node_modules/playwright-core ]; then
    npm ci --no-audit --no-fund
  fi
  npm test
)

# The Python SDK, installed as a user installs it, in a venv of its own.
venv=target/pyenv
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
"$venv/bin/pip" install -q --disable-pip-version-check "./clients/python[test]"
(
  cd clients/python
  "../../$venv/bin/python" -m mypy
  "../../$venv/bin/python" -m pytest -q
)
