#!/usr/bin/env sh
# Builds Berth's one native helper (src/runtime/native/berth-task-helper.c: task user namespaces and
# idmapped overlay roots, which Node.js cannot ask the kernel for) into dist/native.
set -eu
cd "$(dirname "$0")/.."
mkdir -p dist/native
cc -O2 -Wall -Wextra -Werror -o dist/native/berth-task-helper.tmp src/runtime/native/berth-task-helper.c
mv dist/native/berth-task-helper.tmp dist/native/berth-task-helper
