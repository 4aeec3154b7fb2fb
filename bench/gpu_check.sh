#!/usr/bin/env bash
# The GPU check, unattended, on a machine with an NVIDIA GPU: under 8 minutes in all, every
# result under one folder. What it measures and how to read it: docs/gpu.md.
#
#     bash bench/gpu_check.sh [OUT]              # OUT: default gpu-results/
#     bash bench/gpu_check.sh OUT --dry-run      # no pip, no GPU: numpy on the CPU (tests/test_bench.py)
#
# Needs: Python 3 with pip, and PyPI (nothing else from the network). Steps, each under a time
# limit (`timeout`), each one's exit status and seconds in OUT/steps.tsv; a failing step is
# recorded and the next one runs:
#   1. nvidia-smi: the GPU, its driver and the CUDA version the driver supports (OUT/nvidia-smi.txt);
#   2. a virtual environment that sees the system's packages (--system-site-packages), and in it
#      pip install -e ".[cuda12,test]": cupy for CUDA 12; if that fails or cupy cannot run a
#      kernel, cupy for CUDA 13 (".[cuda13,test]"); xprop info (OUT/xprop-info.txt);
#   3. cupy: python -m xprop.bench.gpu_check --backends cupy (eager, compiled, fused, CUDA graph);
#   4. pip install -e ".[oracles]" (torch==2.13.0 and jax==0.10.2, PyPI's CUDA wheels of torch);
#      torch on cuda: eager, compiled (torch.compile), a CUDA graph;
#   5. the GPU cases of the tests: the parity suite's (tests/test_parity.py -k "cupy or cuda"), the
#      fused kernels against their references and the CUDA-graph steps (-m gpu);
#   6. jax's CUDA plugin (pip install "jax[cuda12]==0.10.2", else cuda13), if it installs: jax on
#      the GPU, eager and compiled;
#   7. xprop info again; OUT/gpu_check.md and OUT/gpu_check.json from every backend's file.
# The order puts what matters most first: when the time runs out, the last steps are skipped.
set -u -o pipefail
cd "$(dirname "$0")/.."

OUT=${1:-gpu-results}
DRY=0
if [ "${2:-}" = "--dry-run" ] || [ "${1:-}" = "--dry-run" ]; then
    DRY=1
    [ "${1:-}" = "--dry-run" ] && OUT=gpu-results
fi
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
# the measurements run from OUT, not from the checkout: there the checkout's xprop/ (which has
# no bench/ or backends/ of its own) would hide an installed xprop (env -C: $PYTHON as it is then)
FROM_OUT=(env -C "$OUT")
: > "$OUT/steps.tsv"
exec > >(tee -a "$OUT/gpu_check.log") 2>&1
exec 3>&1  # the log, for step's own lines when a step's output goes to a file

START=$(date +%s)
BUDGET=${GPU_CHECK_BUDGET:-470}   # seconds for everything: under 8 minutes
RESERVE=20                        # kept for the report at the end
PYTHON=${PYTHON:-python3}
export PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_INPUT=1 PIP_PROGRESS_BAR=off PYTHONUNBUFFERED=1

left() { echo $(( BUDGET - ($(date +%s) - START) )); }

# step NAME SECONDS COMMAND...: COMMAND under a limit of SECONDS, or of the time left; its
# exit status and seconds appended to OUT/steps.tsv; returns its exit status (124: timed out)
step() {
    local name=$1 want=$2
    shift 2
    local have=$(( $(left) - RESERVE ))
    local limit=$(( want < have ? want : have ))
    if (( limit < 5 )); then
        echo "== $name: skipped, the time is up" >&3
        printf '%s\tskipped (no time left)\t0\n' "$name" >> "$OUT/steps.tsv"
        return 124
    fi
    echo "== $name (at most ${limit} s): $*" >&3
    local t0 rc
    t0=$(date +%s)
    timeout -k 5 "$limit" "$@"
    rc=$?
    printf '%s\t%s\t%s\n' "$name" "$rc" "$(( $(date +%s) - t0 ))" >> "$OUT/steps.tsv"
    echo "== $name: exit $rc after $(( $(date +%s) - t0 )) s" >&3
    return $rc
}

measure() {  # measure BACKEND SECONDS
    if (( DRY )); then  # numpy once, in cupy's place; the other backends only said
        if [ "$1" = cupy ]; then
            step "measure $1 (dry run: numpy)" "$2" "${FROM_OUT[@]}" "$PYTHON" -m xprop.bench.gpu_check --out "$OUT" --dry-run
        else
            echo "(dry run) python -m xprop.bench.gpu_check --out $OUT --backends $1 --steps 100 --reps 5"
        fi
    else
        step "measure $1" "$2" "${FROM_OUT[@]}" "$PYTHON" -m xprop.bench.gpu_check --out "$OUT" --backends "$1" --steps 100 --reps 5
    fi
}

echo "xprop GPU check, $(date -u +%Y-%m-%dT%H:%M:%SZ), budget ${BUDGET} s, results in $OUT"

# 1. the GPU and its driver
CUDA_MAJOR=0
if command -v nvidia-smi >/dev/null 2>&1; then
    step "nvidia-smi" 20 nvidia-smi > "$OUT/nvidia-smi.txt" 2>&1
    step "nvidia-smi query" 20 nvidia-smi --query-gpu=name,driver_version,memory.total,compute_cap \
        --format=csv >> "$OUT/nvidia-smi.txt" 2>&1
    CUDA_MAJOR=$(sed -n 's/.*CUDA Version: *\([0-9][0-9]*\)\..*/\1/p' "$OUT/nvidia-smi.txt" | head -1)
    CUDA_MAJOR=${CUDA_MAJOR:-0}
    echo "the driver supports CUDA $CUDA_MAJOR (nvidia-smi)"
else
    echo "no nvidia-smi: no NVIDIA driver here; the measurements will record why nothing ran" | tee "$OUT/nvidia-smi.txt"
fi
FIRST=cuda12 SECOND=cuda13  # a driver for CUDA 13 runs the CUDA 12 wheels too; 13 is the fallback
if (( CUDA_MAJOR > 0 && CUDA_MAJOR < 12 )); then
    echo "warning: the driver supports CUDA $CUDA_MAJOR only; the cuda12 and cuda13 wheels need 12 or newer"
fi

# 2. a virtual environment that keeps what the system already has, and xprop with cupy
if (( ! DRY )); then
    VENV=${GPU_CHECK_VENV:-${TMPDIR:-/tmp}/xprop-gpu-venv}
    if step "venv" 60 "$PYTHON" -m venv --system-site-packages "$VENV"; then
        PYTHON="$VENV/bin/python"
    else
        echo "no venv (python3-venv missing?): installing into $PYTHON itself"
        export PIP_BREAK_SYSTEM_PACKAGES=1
    fi
fi
if (( DRY )); then PIP=(echo "(dry run) pip install"); else PIP=("$PYTHON" -m pip install); fi
CUPY_RUNS=("$PYTHON" -c "import cupy; cupy.zeros(1).sum(); print('cupy', cupy.__version__, 'runs a kernel')")
(( DRY )) && CUPY_RUNS=(true)
if step "pip install .[$FIRST,test]" 150 "${PIP[@]}" -e ".[$FIRST,test]" && step "cupy runs ($FIRST)" 60 "${CUPY_RUNS[@]}"; then
    CUDA_EXTRA=$FIRST
else
    (( DRY )) || step "pip uninstall cupy-${FIRST}x" 60 "$PYTHON" -m pip uninstall -y "cupy-${FIRST}x"
    step "pip install .[$SECOND,test]" 150 "${PIP[@]}" -e ".[$SECOND,test]" && step "cupy runs ($SECOND)" 60 "${CUPY_RUNS[@]}"
    CUDA_EXTRA=$SECOND
fi
echo "CUDA wheels: $CUDA_EXTRA"
step "xprop info" 60 "${FROM_OUT[@]}" "$PYTHON" -m xprop info > "$OUT/xprop-info.txt" 2>&1

# 3. cupy
measure cupy 75

# 4. torch on cuda
step "pip install .[oracles]" 180 "${PIP[@]}" -e ".[oracles]"
measure torch:cuda 110

# 5. the parity suite's GPU cases
if (( DRY )); then
    echo "(dry run) python -m pytest tests/test_parity.py -k \"cupy or cuda\" -q" > "$OUT/parity.txt"
    echo "(dry run) python -m pytest tests/test_fused.py tests/test_torch_compiled.py -m gpu -q" > "$OUT/gpu-tests.txt"
else
    step "parity (GPU cases)" 90 "$PYTHON" -m pytest tests/test_parity.py -k "cupy or cuda" -q -p no:cacheprovider \
        > "$OUT/parity.txt" 2>&1
    step "fused kernels and CUDA graphs (GPU tests)" 90 "$PYTHON" -m pytest tests/test_fused.py \
        tests/test_torch_compiled.py -m gpu -q -rs -p no:cacheprovider > "$OUT/gpu-tests.txt" 2>&1
fi

# 6. jax on the GPU, if its CUDA plugin installs
if step "pip install jax[$CUDA_EXTRA]" 90 "${PIP[@]}" "jax[$CUDA_EXTRA]==0.10.2"; then
    measure jax:gpu 60
fi

# 7. the report
step "xprop info (again)" 30 "${FROM_OUT[@]}" "$PYTHON" -m xprop info > "$OUT/xprop-info-end.txt" 2>&1
BUDGET=$(( BUDGET + RESERVE ))
step "report" 15 "${FROM_OUT[@]}" "$PYTHON" -m xprop.bench.gpu_check --out "$OUT" --report
{
    echo "# GPU check, $(date -u +%Y-%m-%dT%H:%M:%SZ)"
    echo
    echo "$(( $(date +%s) - START )) s in all; CUDA wheels: $CUDA_EXTRA; dry run: $DRY."
    echo
    echo "| step | exit status | seconds |"
    echo "|---|---|---:|"
    sed 's/\t/ | /g; s/^/| /; s/$/ |/' "$OUT/steps.tsv"
    echo
    echo "Files: nvidia-smi.txt, xprop-info.txt (after installing cupy), xprop-info-end.txt (after everything), gpu_check.md and .json (the measurements), parity.txt, gpu_check.log."
} > "$OUT/summary.md"
echo "done in $(( $(date +%s) - START )) s: $OUT/summary.md, $OUT/gpu_check.md"
