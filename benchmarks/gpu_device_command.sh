#!/usr/bin/env bash
# benchmarks/gpu.py on the lent GPU machine (issue 21), in two steps.
#
# 1. Here, from the repository root, once (needs pip and the network):
#        bash benchmarks/gpu_device_command.sh prepare
#    downloads what the GPU machine lacks into .whl/ (ignored by git through .git/info/exclude):
#    keras and the two packages it needs that the machine's image does not have (namex, optree),
#    as wheels for its Python 3.12 on x86-64. The image already has JAX, PyTorch, transformers,
#    numpy, h5py, ml-dtypes, rich, absl-py and packaging; it has no TensorFlow.
# 2. The device tool's `run`, from the repository root, with carry [".whl"] and timeout_s 600:
#        bash benchmarks/gpu_device_command.sh device
#    installs the wheels into /tmp/site, prints the GPU and the versions, and runs
#        python3 benchmarks/gpu.py --device gpu --budget 450 --out $OUT/gpu
#    jbert_tf2 itself runs from the carried checkout (gpu.py puts the repository root first on
#    sys.path; it needs no install). $OUT/gpu then holds report.md, report.json, workers.log
#    (each worker's stderr) and console.log. Arguments after `device` go to gpu.py, e.g. a
#    rerun of what failed (with the peak again, for the % column):
#    `bash benchmarks/gpu_device_command.sh device --only peak,hf-compile,train-long`.
#    GPU_BENCH_BUDGET (seconds, default 450) leaves room in the session's device time for one
#    rerun on the still-warm machine.
set -euo pipefail

KERAS_VERSION=3.15.1
NAMEX_VERSION=0.1.0
OPTREE_VERSION=0.20.0

case "${1:-}" in
prepare)
    grep -qx '/.whl/' .git/info/exclude 2>/dev/null || echo '/.whl/' >>.git/info/exclude
    python3 -m pip download --no-deps --only-binary=:all: --python-version 3.12 \
        --implementation cp --platform manylinux_2_28_x86_64 --platform manylinux_2_27_x86_64 \
        --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 \
        --platform manylinux1_x86_64 -d .whl \
        "keras==${KERAS_VERSION}" "namex==${NAMEX_VERSION}" "optree==${OPTREE_VERSION}"
    ls -l .whl
    ;;
device)
    shift
    python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
        --target /tmp/site .whl/*.whl
    export PYTHONPATH=/tmp/site${PYTHONPATH:+:$PYTHONPATH}
    export KERAS_BACKEND=jax PYTHONUNBUFFERED=1
    mkdir -p "$OUT/gpu"
    {
        nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm --format=csv || true
        python3 -c 'import jax, keras, torch, transformers; print("jax", jax.__version__, jax.devices(), "| keras", keras.__version__, "| torch", torch.__version__, torch.cuda.is_available(), "| transformers", transformers.__version__)' || true
        timeout 570 python3 benchmarks/gpu.py --device gpu --budget "${GPU_BENCH_BUDGET:-450}" \
            --out "$OUT/gpu" "$@"
    } 2>&1 | tee "$OUT/gpu/console.log"
    ;;
*)
    echo "usage: bash benchmarks/gpu_device_command.sh prepare | device [gpu.py arguments]" >&2
    exit 2
    ;;
esac
