#!/usr/bin/env bash
# npm run image:test — builds the container image with podman against a local Debian base (scripts/image/base.sh,
# cached), runs a tiny `plotpointe demo --no-serve` in it over a lake folder, starts the image's default command
# (`plotpointe serve`) over that lake, checks /healthz, /readyz, one recommendation, the dashboard and the image's
# HEALTHCHECK, stops it with SIGTERM (graceful: exit 0), and prints the image size and the time to /readyz.
# Fails when the image is larger than PLOTPOINTE_IMAGE_MAX_MB (default 900).
# Env: PLOTPOINTE_BASE_IMAGE (skip the local base and use this one), PLOTPOINTE_IMAGE (tag, default
# localhost/plotpointe:test), PLOTPOINTE_IMAGE_KEEP=1 (keep the lake folder).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
cd "$root"
# shellcheck source=podman-env.sh
source "$here/podman-env.sh"

image="${PLOTPOINTE_IMAGE:-localhost/plotpointe:test}"
max_mb="${PLOTPOINTE_IMAGE_MAX_MB:-900}"
t0=$(date +%s)

base="$(bash "$here/base.sh" | tail -n1)"
echo "== base image $base"

echo "== podman build $image"
tb=$(date +%s)
# docker format keeps HEALTHCHECK (the OCI format drops it); host network and CA bundle for npm in the build.
podman build --format docker --network host "${PLOTPOINTE_CA_MOUNT[@]}" --build-arg "BASE=$base" \
  -t "$image" -f Containerfile . > "${TMPDIR:-/tmp}/plotpointe-image-build.log" 2>&1 \
  || { tail -n 40 "${TMPDIR:-/tmp}/plotpointe-image-build.log"; echo "error: podman build failed" >&2; exit 1; }
build_s=$(( $(date +%s) - tb ))
size_bytes=$(podman image inspect --format '{{.Size}}' "$image")
size_mb=$(( size_bytes / 1000000 ))
echo "   built in ${build_s} s, ${size_mb} MB"

work="$(mktemp -d "${TMPDIR:-/tmp}/plotpointe-image-test.XXXXXX")"
name="plotpointe-image-test-$$"
cleanup() {
  podman rm -f -t 5 "$name" >/dev/null 2>&1 || true
  if [ "${PLOTPOINTE_IMAGE_KEEP:-}" = 1 ]; then echo "kept $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT
mkdir -p "$work/lake"
chown 10001:10001 "$work/lake"
# A tiny catalog: the point is the packaging, not the model.
printf 'demo:\n  users: 80\n  items: 100\n  catalog_items: 100\npipeline:\n  model_params: epochs=3,eval_every=1\n' > "$work/tiny.yaml"
chmod 644 "$work/tiny.yaml"
# --health-interval=disable: no healthcheck timer (podman would need systemd for it); `healthcheck run` below
# runs the image's HEALTHCHECK once by hand.
run=(podman run --network host --health-interval=disable -v "$work/lake:/data/lake" -v "$work/tiny.yaml:/data/tiny.yaml:ro")

echo "== plotpointe demo --no-serve in the image"
td=$(date +%s)
"${run[@]}" --rm "$image" demo --no-serve --config /data/tiny.yaml --json --quiet > "$work/demo.out" 2> "$work/demo.err" \
  || { tail -n 30 "$work/demo.err"; echo "error: demo failed in the image" >&2; exit 1; }
demo_s=$(( $(date +%s) - td ))
run_id="$(tail -n1 "$work/demo.out" | node -e 'process.stdout.write(JSON.parse(require("fs").readFileSync(0,"utf8")).run)')"
echo "   run $run_id in ${demo_s} s"

port="$(node -e 's=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')"
echo "== plotpointe serve (the image's default command) on 127.0.0.1:$port"
since=$(node -e 'console.log(Date.now())')
"${run[@]}" -d --name "$name" -e "PLOTPOINTE_PORT=$port" "$image" serve --host 127.0.0.1 --port "$port" >/dev/null
check="$(node "$here/check-serving.mjs" "http://127.0.0.1:$port" "$work/lake/artifacts/demo/$run_id/serving" --since "$since" --timeout 300)" \
  || { podman logs "$name" 2>&1 | tail -n 30; exit 1; }
echo "   $check"
ready_s="$(node -e 'console.log(JSON.parse(process.argv[1]).ready_s)' "$check")"

echo "== HEALTHCHECK"
healthy=0
for _ in 1 2 3; do podman healthcheck run "$name" >/dev/null 2>&1 && { healthy=1; break; }; sleep 2; done
[ "$healthy" = 1 ] || { podman healthcheck run "$name" || true; echo "error: the image's HEALTHCHECK failed on a ready server" >&2; exit 1; }
echo "   healthy"

echo "== graceful stop (SIGTERM)"
podman stop -t 30 "$name" >/dev/null
code="$(podman inspect --format '{{.State.ExitCode}}' "$name")"
[ "$code" = 0 ] || { podman logs "$name" 2>&1 | tail -n 20; echo "error: serve exited $code on SIGTERM" >&2; exit 1; }
echo "   exit 0"

if [ "$size_mb" -gt "$max_mb" ]; then
  echo "error: image is ${size_mb} MB, over the ${max_mb} MB target" >&2
  exit 1
fi
echo "image-test ok: image ${size_mb} MB, time to /readyz ${ready_s} s (container start to 200), build ${build_s} s, demo ${demo_s} s, total $(( $(date +%s) - t0 )) s; load average:$(uptime | sed 's/.*load average://')"
