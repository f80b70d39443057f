#!/usr/bin/env bash
# roam's webgpu check for a machine with a real GPU and its Vulkan driver (issue 14).
#
#   benchmarks/gpu/device-check.sh [--allow-software] [OUTDIR]
#
# Installs nothing. It checks what it needs (node >= 20.18, the repo's node_modules with the webgpu
# package, the Vulkan loader, a Vulkan driver, a hardware adapter), says what is missing and how to
# get it, and stops (exit 2). Then, within about 5 minutes, it runs `roam gpu info`, the webgpu
# tests (CI=true: a missing adapter fails rather than skips) and `bench:gpu -- --device webgpu`,
# and writes everything under one folder: OUTDIR, else $OUT, else ./gpu-check-out.
# --allow-software lets it run on a software renderer (lavapipe) to try the script itself.
set -uo pipefail
cd "$(dirname "$0")/../.."

ALLOW_SOFTWARE=0
if [ "${1:-}" = "--allow-software" ]; then ALLOW_SOFTWARE=1; shift; fi
DEST="${1:-${OUT:-./gpu-check-out}}"
mkdir -p "$DEST"
SUMMARY="$DEST/summary.txt"
: > "$SUMMARY"
say() { echo "$*" | tee -a "$SUMMARY"; }
missing=()
need() { missing+=("$1"); say "MISSING: $1"; }

say "roam gpu device check — $(date -u +%FT%TZ) on $(hostname) ($(uname -m)), load $(cut -d' ' -f1-3 /proc/loadavg)"

# --- what the check needs; nothing is installed here -------------------------------------------
if ! command -v node >/dev/null; then
  need "node (>= 20.18): install Node.js 20 (e.g. Debian: the nodesource node_20.x packages)"
else
  v=$(node -p 'process.versions.node')
  node -e 'const [a,b]=process.versions.node.split(".").map(Number); process.exit(a>20||(a===20&&b>=18)?0:1)' || need "node >= 20.18 (found $v)"
fi
if [ ! -d node_modules/tsx ] || [ ! -d node_modules/vitest ]; then
  need "the repo's node_modules: run 'npm ci' here (or carry node_modules from a machine that ran it)"
fi
if [ ! -f "node_modules/webgpu/dist/linux-$(uname -m | sed 's/x86_64/x64/;s/aarch64/arm64/')/dawn.node" ]; then
  need "the webgpu package (Dawn): 'npm ci' installs it (an optional dependency)"
fi
if ! ldconfig -p 2>/dev/null | grep -q 'libvulkan.so.1'; then
  need "the Vulkan loader libvulkan.so.1 (Debian/Ubuntu: apt-get install libvulkan1)"
fi
icds=$(ls /usr/share/vulkan/icd.d/*.json /etc/vulkan/icd.d/*.json /usr/local/nvidia/share/vulkan/icd.d/*.json 2>/dev/null | tr "\n" " " || true)
if [ -z "${VK_DRIVER_FILES:-}${VK_ICD_FILENAMES:-}" ] && [ -z "$icds" ]; then
  need "a Vulkan driver (ICD json in /usr/share/vulkan/icd.d or /etc/vulkan/icd.d): the GPU vendor's driver (NVIDIA: its driver package with Vulkan; AMD/Intel: mesa-vulkan-drivers)"
fi
# An NVIDIA container may keep its ICD outside the loader's search path: point the loader at it.
if [ -z "${VK_DRIVER_FILES:-}${VK_ICD_FILENAMES:-}" ] && [ -f /usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json ] && ! ls /usr/share/vulkan/icd.d/nvidia*.json /etc/vulkan/icd.d/nvidia*.json >/dev/null 2>&1; then
  export VK_DRIVER_FILES=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
  say "using VK_DRIVER_FILES=$VK_DRIVER_FILES"
fi
say "vulkan drivers found: ${icds:-none} ${VK_DRIVER_FILES:-}"
if [ ${#missing[@]} -gt 0 ]; then
  say "device check NOT RUN: ${#missing[@]} requirement(s) missing (see above); nothing was installed."
  exit 2
fi

# --- what the machine has ----------------------------------------------------------------------
{ command -v nvidia-smi >/dev/null && nvidia-smi; } > "$DEST/nvidia-smi.txt" 2>&1 || rm -f "$DEST/nvidia-smi.txt"
{ command -v vulkaninfo >/dev/null && vulkaninfo --summary; } > "$DEST/vulkaninfo.txt" 2>&1 || rm -f "$DEST/vulkaninfo.txt"

step() { # name, timeout seconds, command…
  local name=$1 t=$2; shift 2
  local t0=$SECONDS
  timeout "$t" "$@" > "$DEST/$name.txt" 2>&1
  local rc=$?
  say "$name: exit $rc in $((SECONDS - t0)) s$([ $rc = 124 ] && echo ' (timed out)')"
  return $rc
}

step gpu-info 60 node bin/roam.js gpu info --verbose
node bin/roam.js gpu info --json > "$DEST/gpu-info.json" 2>/dev/null
cat "$DEST/gpu-info.txt" | tee -a "$SUMMARY"
software=$(node -e 'const i=JSON.parse(require("fs").readFileSync(process.argv[1],"utf8"));const w=i.devices.find(d=>d.kind==="webgpu");console.log(!w.available?"none":w.adapter.software?"software":"hardware")' "$DEST/gpu-info.json")
if [ "$software" = none ]; then say "device check FAILED: Dawn found no WebGPU adapter (see gpu-info.txt)"; exit 1; fi
if [ "$software" = software ] && [ $ALLOW_SOFTWARE = 0 ]; then
  say "device check NOT RUN: the only adapter is a software renderer; this check is for a real GPU (--allow-software runs it anyway)"
  exit 2
fi

# The tests open the webgpu device themselves; CI=true makes a missing adapter fail, not skip.
export CI=true
step tests 150 npx vitest run test/gpu-webgpu.test.ts test/gpu-webgpu-serve.test.ts test/gpu-capability.test.ts
tests_rc=$?
grep -E 'Tests |Test Files ' "$DEST/tests.txt" | sed 's/\x1b\[[0-9;]*m//g' | tee -a "$SUMMARY"
# The report (markdown) on stdout → bench.txt; Dawn's stderr (the in-process comparison loads it here) apart.
step bench 150 sh -c 'exec node --import tsx benchmarks/gpu/run.ts --device webgpu --seconds 2 --rounds 1 2>"$0"' "$DEST/bench-stderr.txt"
bench_rc=$?
say "load at the end: $(cut -d' ' -f1-3 /proc/loadavg); results in $DEST"
[ $tests_rc = 0 ] && [ $bench_rc = 0 ]
