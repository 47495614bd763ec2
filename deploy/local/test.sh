#!/usr/bin/env bash
# The one test command (README, .ci/run): formatting, lints with warnings denied, and the whole
# workspace test suite. It starts whatever services the tests need on loopback and stops them.
# The embedded hub needs none (embedded bus and SQLite); the RabbitMQ bus and the PostgreSQL
# store are tested against real servers started here on loopback (deploy/local/rabbitmq.sh,
# deploy/local/postgres.sh: installed from Debian packages when missing). A test that needs one
# fails loudly when it is missing; so does this script when one cannot start.
set -euo pipefail
cd "$(dirname "$0")/../.."

if ! cargo nextest --version >/dev/null 2>&1; then
  echo "test.sh: installing cargo-nextest" >&2
  cargo install --locked cargo-nextest
fi

# The dashboard's browser test drives headless Chromium and fails without it.
if [ ! -x /usr/bin/chromium ]; then
  echo "test.sh: installing chromium (for the dashboard browser test)" >&2
  apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
fi

# The TLS test puts nginx in front of the hub (deploy/local/tls.sh) and fails without it.
if ! command -v nginx >/dev/null 2>&1 && [ ! -x /usr/sbin/nginx ]; then
  echo "test.sh: installing nginx (for the TLS and mutual-TLS test)" >&2
  apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx >/dev/null
fi

# The FHIR API's client tests run a real FHIR client library (fhirpy) and schemathesis.
if ! python3 -c "import fhirpy" >/dev/null 2>&1 || ! command -v schemathesis >/dev/null 2>&1; then
  echo "test.sh: installing fhirpy and schemathesis (for the FHIR API client tests)" >&2
  # Pinned: the versions the tests were written against (a newer schemathesis may change its
  # checks or its command line).
  python3 -m pip install -q 'fhirpy==2.3.1' 'schemathesis==4.32.5'
fi

# A CI run builds from clean: incremental artefacts would only cost disk (about 2 GB) and time.
if [ -n "${CI:-}" ]; then
  export CARGO_INCREMENTAL=0
fi

echo "== cargo fmt --check"
cargo fmt --all -- --check
echo "== cargo clippy (warnings denied)"
cargo clippy --workspace --all-targets --locked -- -D warnings
echo "== doc tests"
cargo test --workspace --doc --locked
echo "== services (RabbitMQ and PostgreSQL on loopback)"
eval "$(deploy/local/rabbitmq.sh fresh)"
eval "$(deploy/local/postgres.sh start)"
echo "== workspace tests (nextest)"
cargo nextest run --workspace --locked --no-fail-fast

# The long variants, by hand (nightly-style): bigger fault runs (the tests read WAYMARK_LONG)
# and every cargo-fuzz target for WAYMARK_FUZZ_SECONDS (default 60) on the nightly toolchain.
# The corpus replay and its mutations (crates/waymark-testkit/tests/it/corpus.rs) run above on
# every run.
if [ "${WAYMARK_LONG:-}" = 1 ]; then
  echo "== long variant: cargo fuzz, ${WAYMARK_FUZZ_SECONDS:-60} s per target"
  deploy/local/fuzz.sh "${WAYMARK_FUZZ_SECONDS:-60}"
fi
