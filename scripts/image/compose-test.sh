#!/usr/bin/env bash
# npm run compose:test — the multi-process deployment of deploy/compose.yaml with podman-compose: Redis, two
# `plotpointe worker` containers and a shared lake; runs a tiny demo pipeline through it on the BullMQ executor,
# checks its artifacts are byte-identical (sha256) to a local-executor run of the same image, then starts the API
# (`serve --workers 2`) over that lake and checks /readyz, a recommendation and the dashboard, and takes it all
# down. Images: built here from the local base (scripts/image/base.sh), cached by podman between runs.
# Env: PLOTPOINTE_IMAGE (default localhost/plotpointe:test), PLOTPOINTE_IMAGE_KEEP=1 (keep the work folder).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
cd "$root"
# shellcheck source=podman-env.sh
source "$here/podman-env.sh"

image="${PLOTPOINTE_IMAGE:-localhost/plotpointe:test}"
redis_image="localhost/plotpointe-redis:test"
t0=$(date +%s)
base="$(bash "$here/base.sh" | tail -n1)"
log="${TMPDIR:-/tmp}/plotpointe-compose-build.log"
echo "== podman build $image and $redis_image (base $base)"
podman build --format docker --network host "${PLOTPOINTE_CA_MOUNT[@]}" --build-arg "BASE=$base" -t "$image" -f Containerfile . > "$log" 2>&1 \
  || { tail -n 40 "$log"; exit 1; }
podman build --format docker --network host "${PLOTPOINTE_CA_MOUNT[@]}" --build-arg "BASE=$base" -t "$redis_image" \
  -f deploy/redis/Containerfile deploy/redis >> "$log" 2>&1 || { tail -n 40 "$log"; exit 1; }

work="$(mktemp -d "${TMPDIR:-/tmp}/plotpointe-compose-test.XXXXXX")"
project="ppcompose$$"
export PP_IMAGE="$image" PP_REDIS_IMAGE="$redis_image" PP_LAKE="$work/lake-compose" PP_PREFIX="pp-compose-$$" \
  PP_API_PORT="$(node -e 's=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')" \
  PP_API_WORKERS=2 PP_PIPELINE_CONFIG=/data/lake/tiny.yaml
compose=(podman-compose -p "$project" -f deploy/compose.yaml)
cleanup() {
  podman logs "${project}_worker1_1" > "$work/worker1.log" 2>&1 || true
  podman logs "${project}_worker2_1" > "$work/worker2.log" 2>&1 || true
  "${compose[@]}" down -t 10 >/dev/null 2>&1 || true
  # whatever compose left (a failed start, an interrupted run): the containers of this project, by label
  podman ps -aq --filter "label=io.podman.compose.project=$project" | xargs -r podman rm -f -t 5 >/dev/null 2>&1 || true
  podman network rm -f "${project}_default" >/dev/null 2>&1 || true
  if [ "${PLOTPOINTE_IMAGE_KEEP:-}" = 1 ]; then echo "kept $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT

tiny='demo:\n  users: 80\n  items: 100\n  catalog_items: 100\npipeline:\n  model_params: epochs=3,eval_every=1\n'
for lake in lake-local lake-compose; do
  mkdir -p "$work/$lake"
  printf "$tiny" > "$work/$lake/tiny.yaml"
  chown -R 10001:10001 "$work/$lake"
done

echo "== reference: pipeline run on the local executor (one container)"
podman run --rm --network host -v "$work/lake-local:/data/lake" "$image" \
  pipeline run --config /data/lake/tiny.yaml --json --quiet > "$work/local.json" 2> "$work/local.err" \
  || { tail -n 30 "$work/local.err"; echo "error: local pipeline run failed" >&2; exit 1; }

echo "== compose up: redis, worker1, worker2 (project $project)"
"${compose[@]}" up -d redis worker1 worker2 > "$work/up.log" 2>&1 || { cat "$work/up.log"; exit 1; }

echo "== compose run pipeline (executor bullmq)"
tp=$(date +%s)
"${compose[@]}" run --rm pipeline > "$work/compose.out" 2> "$work/compose.err" \
  || { tail -n 30 "$work/compose.err" "$work/compose.out"; podman logs "${project}_worker1_1" 2>&1 | tail -n 20; exit 1; }
grep '^{' "$work/compose.out" | tail -n1 > "$work/dist.json"
node -e '
const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
if (r.executor !== "bullmq") { console.error("executor " + r.executor); process.exit(1); }
const notRan = r.steps.filter((s) => s.status !== "ran").map((s) => s.step + ":" + s.status);
if (notRan.length) { console.error("steps not run: " + notRan); process.exit(1); }
console.log("   " + r.steps.length + " steps ran on the workers in " + r.seconds + " s");' "$work/dist.json"
pipeline_s=$(( $(date +%s) - tp ))
for w in worker1 worker2; do
  n="$(podman logs "${project}_${w}_1" 2>&1 | grep -c ' (job ' || true)"
  echo "   $w took $n jobs"
  [ "$n" -gt 0 ] || { echo "error: $w took no job" >&2; exit 1; }
done

echo "== artifacts: compose (bullmq) vs local, sha256"
node --import tsx "$here/compare-artifacts.ts" "$work/local.json" "$work/lake-local" "$work/dist.json" "$work/lake-compose"

echo "== compose up api (serve --workers $PP_API_WORKERS) on port $PP_API_PORT"
since=$(node -e 'console.log(Date.now())')
"${compose[@]}" up -d api >> "$work/up.log" 2>&1 || { cat "$work/up.log"; exit 1; }
run_id="$(node -e 'const r=JSON.parse(require("fs").readFileSync(process.argv[1],"utf8"));const t=r.steps.find(s=>s.step==="train");process.stdout.write(String(t.result?.run_id??""))' "$work/dist.json")"
serving="$(ls -d "$work"/lake-compose/artifacts/demo/*/serving | head -n1)"
[ -z "$run_id" ] || serving="$work/lake-compose/artifacts/demo/$run_id/serving"
node "$here/check-serving.mjs" "http://127.0.0.1:$PP_API_PORT" "$serving" --since "$since" --timeout 300 \
  || { podman logs "${project}_api_1" 2>&1 | tail -n 30; exit 1; }

echo "compose-test ok: pipeline on 2 workers ${pipeline_s} s, byte-identical to the local run; total $(( $(date +%s) - t0 )) s; load average:$(uptime | sed 's/.*load average://')"
