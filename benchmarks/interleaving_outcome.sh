#!/usr/bin/env bash
# One interleaving experiment between two encoders of a `vsx demo` run, at the traffic a small difference needs.
#
# Interleaving detects a ranker difference with far fewer users than an A/B test, but a click-trained encoder's
# edge over its parent is a point or two of preference, which takes tens of thousands of users to show (users
# needed and runs: BENCHMARKS.md, "The loop"), for a pilot or a re-run on other users. This script runs one such
# experiment at any size on a demo's artifacts: HNSW32 indexes of both encoders, one `vsx serve` on loopback with
# the simulator's clock trusted, three `vsx simulate --url` processes side by side (one simulator alone leaves a
# core idle), then `vsx analyze`.
#
#   benchmarks/interleaving_outcome.sh DEMO_DIR CONTROL TREATMENT [USERS_PER_SIMULATOR]
#   benchmarks/interleaving_outcome.sh /tmp/large cnn@1 cnn@2        # v2 over v1, 3 x 33,334 users
#   benchmarks/interleaving_outcome.sh /tmp/demo cnn@1 cnn@2 3334    # v2 over v1, 10,002 users
#
# DEMO_DIR: the folder whose art/ (or artifacts/) holds the demo's artifacts (VSX_ARTIFACTS_DIR of that run).
# Writes DEMO_DIR/outcome/EXPERIMENT/{exp,data,rep}, EXPERIMENT = il-TREATMENT-vs-CONTROL-hnsw (no '@').
# Queries are unseen: no image either encoder (or an ancestor) was fine-tuned on (`vsx simulate --unseen-by`).
set -euo pipefail
large=$(realpath "$1")
control=$2
treatment=$3
per_simulator=${4:-33334}
vsx=${VSX:-.venv/bin/vsx}
index_of() { echo "${1%@*}-v${1#*@}-hnsw32@1"; }  # cnn@2 -> cnn-v2-hnsw32@1
name="il-${treatment/@/}-vs-${control/@/}-hnsw"
out=$large/outcome/$name
mkdir -p "$out/exp" "$out/data" "$out/rep"
art=$large/art
[ -d "$art" ] || art=$large/artifacts
export VSX_ARTIFACTS_DIR=$art VSX_DATA_DIR=$out/data VSX_EXPERIMENTS_DIR=$out/exp VSX_REPORTS_DIR=$out/rep

for encoder in "$control" "$treatment"; do
  index=$(index_of "$encoder")
  [ -d "$VSX_ARTIFACTS_DIR/index/${index%@*}/1" ] ||
    "$vsx" index build "$encoder" --factory HNSW32 --name "${index%@*}" --param efSearch=64
done
cat > "$out/exp/platform.yaml" <<YAML
holdout:
  share: 0.0
  salt: global-holdout
default:
  encoder: $control
  index: $(index_of "$control")
  index_params: {}
  rerank:
  - name: drop_query
  - name: dedupe
    threshold: 0.995
  k: 10
YAML
cat > "$out/exp/$name.yaml" <<YAML
name: $name
description: $treatment vs $control, interleaved, HNSW32 indexes (outcome run)
owner: vsx-demo
status: running
type: interleaving
layer: retrieval
traffic: 1.0
offset: 0.0
salt: $name
hash_version: 1
start: '2026-01-22T00:00:00Z'
end: '2026-01-27T00:00:00Z'
control: control
variants:
- name: control
  weight: 0.5
  encoder: $control
  index: $(index_of "$control")
  index_params: {}
  rerank: &id001
  - name: drop_query
  - name: dedupe
    threshold: 0.995
  k: 10
- name: treatment
  weight: 0.5
  encoder: $treatment
  index: $(index_of "$treatment")
  index_params: {}
  rerank: *id001
  k: 10
primary_metric: ctr
secondary_metrics:
- dwell_per_click
- clicks_per_user
- search_success_rate
- dwell_p50
guardrails:
- metric: latency_p95
  margin: 0.5
- metric: zero_result_rate
  margin: 0.1
- metric: error_rate
  margin: 0.1
analysis:
  correction: holm
  sequential: false
  alpha: 0.05
YAML
"$vsx" experiments validate "$out"/exp/*.yaml

port=$(.venv/bin/python -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
VSX_TRUST_CLIENT_TIME=true "$vsx" serve --host 127.0.0.1 --port "$port" --no-access-log > "$out/serve.log" 2>&1 &
server=$!
trap 'kill -TERM $server 2>/dev/null || true' EXIT
until curl -sf "127.0.0.1:$port/readyz" > /dev/null; do
  kill -0 $server || { cat "$out/serve.log"; exit 1; }
  sleep 1
done
simulators=()
for s in 1 2 3; do
  "$vsx" simulate --users "$per_simulator" --days 5 --pre-days 0 --start 2026-01-22 --seed "80$s" \
    --user-prefix "out$s" --url "http://127.0.0.1:$port" --unseen-by "$control" --unseen-by "$treatment" \
    > "$out/sim$s.log" 2>&1 &
  simulators+=($!)
done
for pid in "${simulators[@]}"; do wait "$pid"; done
kill -TERM $server && wait $server || true  # the embedded store is the server's until it stops
trap - EXIT
"$vsx" analyze "$name"
