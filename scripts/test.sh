#!/usr/bin/env bash
# Sets everything up and runs every check and test suite: typecheck, lint, unit, integration and
# (as root) privileged. This is the README's test command and what .ci/run calls.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh

run_tests() { # suite name, directory
  local files
  if [ ! -d "$2" ]; then echo "test: no $1 tests"; return 0; fi
  mapfile -t files < <(find "$2" -name '*.test.ts' | sort)
  if [ "${#files[@]}" -eq 0 ]; then echo "test: no $1 tests"; return 0; fi
  echo "test: $1 (${#files[@]} files)"
  node --import tsx --test --test-reporter=spec --test-concurrency=1 "${files[@]}"
}

echo "test: typecheck"; npm run --silent typecheck
echo "test: lint"; npm run --silent lint
run_tests unit src
run_tests integration test/integration
if [ "$(id -u)" -eq 0 ]; then
  run_tests privileged test/privileged
else
  echo "test: privileged suite skipped (needs root)"
fi
