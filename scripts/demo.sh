#!/usr/bin/env bash
# The main job: set everything up, then run `pulumi preview` and `pulumi up` on examples/quickstart
# (through the top-level Pulumi.yaml) with a local file backend.
#
#   bash scripts/demo.sh            preview + up, then print the stack outputs
#   bash scripts/demo.sh destroy    destroy what the demo made
#
# Without DOKPLOY_URL it starts the embedded Dokploy emulator on 127.0.0.1, keeping its state in
# .demo/emulator.json so that a later `destroy` finds the same objects. Set DOKPLOY_URL and
# DOKPLOY_API_KEY to run against a real Dokploy instead.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
action="${1:-up}"

bash scripts/setup.sh
pulumi_dir="$(bash scripts/install-pulumi.sh | tail -n 1)"
export PATH="$pulumi_dir:$PATH"
# The interpreter Pulumi's language host and its dynamic-provider plugin run (see Pulumi.yaml).
export PULUMI_PYTHON_CMD="$root/.venv/bin/python"

mkdir -p .demo/backend
export PULUMI_BACKEND_URL="file://$root/.demo/backend"
export PULUMI_CONFIG_PASSPHRASE="${PULUMI_CONFIG_PASSPHRASE:-dokploy-pulumi-demo}"
export PULUMI_SKIP_UPDATE_CHECK=1
export PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION=true

emulator_pid=""
stop_emulator() {
  if [ -n "$emulator_pid" ]; then
    kill "$emulator_pid" 2>/dev/null || true
    wait "$emulator_pid" 2>/dev/null || true
  fi
}
trap stop_emulator EXIT

if [ -z "${DOKPLOY_URL:-}" ]; then
  port="$(.venv/bin/python -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')"
  export DOKPLOY_API_KEY="demo-api-key"
  .venv/bin/python -m dokploy_pulumi.testing serve --port "$port" --api-key "$DOKPLOY_API_KEY" \
    --state .demo/emulator.json > .demo/emulator.log 2>&1 &
  emulator_pid=$!
  export DOKPLOY_URL="http://127.0.0.1:$port"
  for _ in $(seq 1 50); do
    if .venv/bin/python -c "import httpx,sys; sys.exit(0 if httpx.get('$DOKPLOY_URL/api/health').status_code == 200 else 1)" 2>/dev/null; then
      break
    fi
    sleep 0.2
  done
  echo "Dokploy emulator listening on $DOKPLOY_URL (pid $emulator_pid, state in .demo/emulator.json)"
else
  echo "Using the Dokploy at $DOKPLOY_URL"
fi

pulumi stack select dev --create --non-interactive >/dev/null

case "$action" in
  up)
    pulumi preview --non-interactive
    pulumi up --yes --skip-preview --non-interactive
    echo
    echo "Stack outputs:"
    pulumi stack output --json
    echo
    echo "To destroy what this made: bash scripts/demo.sh destroy"
    ;;
  destroy)
    pulumi destroy --yes --non-interactive
    ;;
  *)
    echo "usage: bash scripts/demo.sh [up|destroy]" >&2
    exit 2
    ;;
esac
