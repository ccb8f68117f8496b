#!/bin/sh
# Removes from a production node_modules what PlotPointe never loads on Linux, for the container image:
# - onnxruntime-node binaries of other platforms (darwin, win32, the other Linux arch): ~245 MB;
# - source maps (*.map; nothing runs with --enable-source-maps against dependencies): ~230 MB;
# - TypeScript declarations, READMEs/CHANGELOGs, docs and test folders of packages;
# - tfjs's browser bundles (tf.min.js, tf.es2017*.js, tf.fesm*.js, ...): Node loads dist/tf.node.js and the
#   per-module dist/*.js files, never the single-file browser bundles.
# Usage: prune-node-modules.sh <node_modules dir> [arch: x64|arm64, default from uname -m]
set -eu
nm="$1"
case "${2:-$(uname -m)}" in
  x86_64|x64|amd64) arch=x64 ;;
  aarch64|arm64) arch=arm64 ;;
  *) arch="$2" ;;
esac
[ -d "$nm" ] || { echo "no such folder: $nm" >&2; exit 1; }
before=$(du -sm "$nm" | cut -f1)

for ort in "$nm/onnxruntime-node/bin"/napi-v*; do
  [ -d "$ort" ] || continue
  for os in "$ort"/*; do
    case "$(basename "$os")" in
      linux) for a in "$os"/*; do [ "$(basename "$a")" = "$arch" ] || rm -rf "$a"; done ;;
      *) rm -rf "$os" ;;
    esac
  done
done

find "$nm" -type f \( -name '*.map' -o -name '*.d.ts' -o -name '*.d.mts' -o -name '*.d.cts' \
  -o -iname 'CHANGELOG*' -o -iname 'HISTORY.md' -o -iname 'README*' \) -delete
find "$nm" -depth -type d \( -name 'test' -o -name 'tests' -o -name '__tests__' -o -name 'docs' -o -name 'example' \
  -o -name 'examples' \) -path '*/node_modules/*' -exec rm -rf {} +

for tfdist in $(find "$nm" -type d -path '*/@tensorflow/tfjs*/dist'); do
  find "$tfdist" -maxdepth 1 -type f \( -name 'tf*.min.js' -o -name 'tf*.es2017.js' -o -name 'tf*.fesm.js' \
    -o -name 'tf*.fesm.min.js' -o -name 'tf*.es2017.min.js' \) -delete
done

after=$(du -sm "$nm" | cut -f1)
echo "pruned node_modules: ${before} MB -> ${after} MB"
