#!/usr/bin/env bash
# Sets everything up and runs every check and test suite: typecheck, lint, unit, integration and
# (as root) privileged. This is the README's test command and what .ci/run calls.
#
# Integration files run several at a time (each file is its own process with its own server on a
# loopback port picked as 0 and its own temp dirs; they spend most of their time waiting on those
# servers). Unit files run one at a time: several of them measure time budgets and event-loop lag
# (log-events' slow matcher, say), which two cores shared four ways break. Privileged files run
# one at a time: they share the host's cgroups, nftables tables and network namespaces.
# The integration suite runs twice: on the default SQLite store, then with every test server on a
# PostgreSQL store (BERTH_TEST_STORE=postgres), on a cluster this script starts for the run with
# initdb and pg_ctl in a temporary directory (test/support/postgres.ts) and removes at the end. The
# unit suite's store tests use that cluster too (BERTH_TEST_POSTGRES_URL).
# The unit suite runs under Node's built-in coverage and the line coverage of src/ is printed.
# (The integration suite does not: Node 20's coverage gives up on it, "Cannot read properties of
# undefined (reading 'line')", with the server running from dist/ in child processes.)
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh

# Integration files at a time: 4 keeps both cores busy while files wait on their servers.
integration_concurrency="${BERTH_TEST_CONCURRENCY:-4}"
coverage_dir="$(mktemp -d)"
postgres_dir=""
cleanup() {
  rm -rf "$coverage_dir"
  if [ -n "$postgres_dir" ]; then node --import tsx test/support/postgres-cluster-cli.ts stop "$postgres_dir"; fi
}
trap cleanup EXIT

run_tests() { # suite name, directory, concurrency, coverage (yes/no)
  local files
  if [ ! -d "$2" ]; then echo "test: no $1 tests"; return 0; fi
  mapfile -t files < <(find "$2" -name '*.test.ts' | sort)
  if [ "${#files[@]}" -eq 0 ]; then echo "test: no $1 tests"; return 0; fi
  echo "test: $1 (${#files[@]} files, $3 at a time)"
  local coverage=()
  if [ "$4" = yes ]; then
    coverage=(--experimental-test-coverage --test-reporter=lcov "--test-reporter-destination=$coverage_dir/$1.lcov")
  fi
  node --import tsx --test --test-reporter=spec --test-reporter-destination=stdout "${coverage[@]}" "--test-concurrency=$3" "${files[@]}"
}

# Lines of src/ (tests left out) that the covered suites ran, from their lcov files: a line counts
# once, covered when any of them ran it.
print_coverage() {
  cat "$coverage_dir"/*.lcov 2>/dev/null | awk -F'[:,]' '
    /^SF:/ { file = $2; product = (file ~ /^src\// && file !~ /\.test\.ts$/) }
    /^DA:/ && product { key = file ":" $2; if (!(key in hit)) hit[key] = 0; if ($3 > 0) hit[key] = 1 }
    END {
      for (key in hit) { lines++; covered += hit[key] }
      if (lines > 0) printf "test: line coverage of src/ by the unit suite: %.1f%% (%d of %d lines)\n", 100 * covered / lines, covered, lines
    }'
}

echo "test: starting a PostgreSQL cluster for the tests"
read -r postgres_url postgres_dir < <(node --import tsx test/support/postgres-cluster-cli.ts start)
if [ -z "$postgres_dir" ]; then echo "test: could not start PostgreSQL (initdb/pg_ctl from Debian's postgresql package)" >&2; exit 1; fi
export BERTH_TEST_POSTGRES_URL="$postgres_url"

echo "test: typecheck"; npm run --silent typecheck
echo "test: lint"; npm run --silent lint
run_tests unit src 1 yes
print_coverage
run_tests integration test/integration "$integration_concurrency" no
if [ "$(id -u)" -eq 0 ]; then
  # The PostgreSQL pass runs beside the privileged suite, two files at a time, its report held
  # until both end: the privileged files spend most of their time waiting on containers and the
  # integration files on their servers, and neither touches what the other makes (integration
  # servers run no agent; every file has its own ports, directories and database). Run one after
  # the other, the whole command took just over 30 minutes on a 2-core machine.
  postgres_log="$coverage_dir/integration-on-postgres.log"
  BERTH_TEST_STORE=postgres run_tests "integration on PostgreSQL" test/integration "${BERTH_TEST_BESIDE_CONCURRENCY:-2}" no >"$postgres_log" 2>&1 &
  postgres_pass=$!
  privileged_status=0
  run_tests privileged test/privileged 1 no || privileged_status=$?
  postgres_status=0
  wait "$postgres_pass" || postgres_status=$?
  cat "$postgres_log"
  if [ "$privileged_status" -ne 0 ] || [ "$postgres_status" -ne 0 ]; then
    echo "test: failed (privileged: exit $privileged_status; integration on PostgreSQL: exit $postgres_status)" >&2
    exit 1
  fi
else
  BERTH_TEST_STORE=postgres run_tests "integration on PostgreSQL" test/integration "$integration_concurrency" no
  echo "test: privileged suite skipped (needs root)"
fi
