#!/usr/bin/env bash
# Sets up everything Berth needs on a fresh Debian 12 machine (run as root): the Debian packages
# the server, the agent and the tests use, the npm dependencies from the lockfile, and the build.
set -euo pipefail
cd "$(dirname "$0")/.."

debian_packages=(
  # task runtime: OCI runtimes, the supervisor, init processes, seccomp profile, ephemeral disks
  runc crun conmon tini catatonit golang-github-containers-common e2fsprogs
  # task networks
  iproute2 nftables
  # load balancers: the proxy engine (ELBv2 listeners and target groups run on HAProxy 2.6 LTS)
  haproxy
  # images: zstd layers, busybox-static for images built without Docker
  zstd busybox-static
  # the listener's generated TLS certificates (berth server --tls)
  openssl
  # tests and benchmarks: real clients and reference servers; PostgreSQL, whose initdb and pg_ctl
  # the tests use to run a cluster of their own (the control plane's replicated store)
  awscli python3-boto3 skopeo umoci docker-registry apache2-utils wrk nginx-light podman postgresql
  # bench/logs-insights.ts: the same aggregation by jq as the baseline of a Logs Insights query
  jq
  # building the SQLite driver from source, and the native mount helper (scripts/build-native.sh)
  python3 make g++ gcc libc6-dev
)

missing=()
for package in "${debian_packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
if [ "${#missing[@]}" -gt 0 ]; then
  echo "setup: installing Debian packages: ${missing[*]}"
  # Packages such as nginx-light, haproxy, postgresql and docker-registry start their own service
  # on install (nginx on the host's port 80). Berth's tests and benchmarks run their own instances
  # in namespaces and directories they make, so no service is started: a policy-rc.d that refuses
  # every start is put in place for the install when the machine has none.
  policy_added=""
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d && chmod 755 /usr/sbin/policy-rc.d && policy_added=yes
  fi
  install_status=0
  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null; } || install_status=$?
  if [ -n "$policy_added" ]; then rm -f /usr/sbin/policy-rc.d; fi
  if [ "$install_status" -ne 0 ]; then exit "$install_status"; fi
fi

if ! command -v node >/dev/null || [ "$(node -p 'process.versions.node.split(".")[0]')" -lt 20 ]; then
  echo "setup: Node.js 20 or newer is required" >&2
  exit 1
fi

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "setup: installing npm dependencies"
  npm ci --no-audit --no-fund --loglevel=error
fi

echo "setup: building"
npm run --silent build
