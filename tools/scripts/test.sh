#!/usr/bin/env bash
# `npm test`: everything a fresh clone needs, then every project's typecheck and tests through Nx.
set -euo pipefail
cd "$(dirname "$0")/../.."
export NX_DAEMON=false NX_TUI=false NX_NO_CLOUD=true NX_INTERACTIVE=false NX_LOAD_DOT_ENV_FILES=false

bash tools/scripts/debian-deps.sh
node -e "import('./tools/scripts/lib.mjs').then((m) => m.ensureInstalled())"
# Downloaded fixtures (Debian's cloud kernel, pinned) are fetched here, so the tests themselves stay offline.
node tools/scripts/fixtures.mjs

rm -rf test-output/vitest
nx() { node node_modules/nx/dist/bin/nx.js "$@"; }
nx sync:check
status=0
nx run-many -t typecheck test e2e --output-style=static --parallel=2 --skip-nx-cache "$@" || status=$?
node tools/scripts/test-summary.mjs || status=$((status == 0 ? 1 : status))
exit "$status"
