"""The contenders of benchmarks/inference_cpu.py, built and timed inside a worker process.

Each ``build_*`` function loads one contender from the shared random weights (the jbert model
directory, or the same weights in HF format) and returns a call that runs the encoder on the
given inputs and returns numpy arrays ``(sequence_output, pooled_output or None)``: the timed
unit is one such call, outputs materialized, as a user gets them. A contender that cannot run
here (a library missing, jbert_tf2's ONNX export not written yet) raises `Skipped` with the
reason, which the report prints in its row.
"""

from __future__ import annotations

import os
import resource
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from benchmarks.machine import PauseWatch, busy_seconds

OPTIMUM_INSTALL = (
    "pip install --no-deps --target DIR optimum==2.1.0 optimum-onnx==0.1.0 "
    "transformers==4.57.6 tokenizers==0.22.2 huggingface_hub==0.36.2"
)


class Skipped(Exception):
    """The contender cannot run in this environment; the message says why."""


Call = Callable[[], tuple[np.ndarray, "np.ndarray | None"]]


def make_inputs(vocab: int, batch: int, seq: int) -> dict[str, np.ndarray]:
    """Random token ids (fixed seed), two segments, every position real, int32."""
    rng = np.random.default_rng(0)
    ids = rng.integers(1, vocab, (batch, seq), dtype=np.int32)
    segments = np.broadcast_to(np.arange(seq) >= seq // 2, (batch, seq)).astype(np.int32)
    return {
        "input_ids": ids,
        "input_mask": np.ones((batch, seq), np.int32),
        "segment_ids": segments,
    }


def hf_inputs(inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The same arrays under HF's names, int64 as HF's exporters declare them."""
    return {
        "input_ids": inputs["input_ids"].astype(np.int64),
        "attention_mask": inputs["input_mask"].astype(np.int64),
        "token_type_ids": inputs["segment_ids"].astype(np.int64),
    }


# --- jbert_tf2 ----------------------------------------------------------------------------------


def build_jbert_tf(model_dir: Path, inputs: dict, xla: bool) -> Call:
    """The jbert_tf2 encoder (``jbert_tf2.load``) in a ``tf.function``, with or without XLA."""
    import jbert_tf2
    from jbert_tf2.backend import tensorflow

    tf = tensorflow()
    model = jbert_tf2.load(str(model_dir))
    feed = {key: tf.constant(value) for key, value in inputs.items()}

    @tf.function(jit_compile=xla)
    def forward(feed):
        out = model(feed, training=False)
        return out["sequence_output"], out["pooled_output"]

    def call():
        sequence, pooled = forward(feed)
        return sequence.numpy(), pooled.numpy()

    return call


def build_jbert_onnxruntime(
    model_dir: Path, inputs: dict, int8: bool, threads: int, cache: Path
) -> Call:
    """jbert_tf2's ONNX export (``jbert-export --format onnx``'s bytes, ``--quantize int8``
    or none) run by its ONNX Runtime predictor, the ``backend="onnxruntime"`` path; the export
    is cached in ``cache`` (built once, not timed)."""
    try:
        from jbert_tf2.export.portable import onnx_bytes
        from jbert_tf2.onnx_inference import OnnxRuntimePredictor
    except ImportError as exc:
        raise Skipped(f"jbert_tf2's ONNX export is not in this checkout ({exc})") from None
    import hashlib
    import importlib

    quantize = "int8" if int8 else "none"
    # keyed on the exporter's code, so a kept --workdir never serves an older export
    code = b"".join(
        Path(importlib.import_module(name).__file__).read_bytes()
        for name in ("jbert_tf2.onnx_graph", "jbert_tf2.export.portable")
    )
    path = cache / f"jbert-{quantize}-{hashlib.sha256(code).hexdigest()[:12]}.onnx"
    if not path.is_file():
        import jbert_tf2

        scratch = cache / f"jbert-{quantize}-scratch"
        scratch.mkdir(exist_ok=True)
        data = onnx_bytes(jbert_tf2.load(str(model_dir)), quantize, scratch, metadata={})
        path.write_bytes(data)
    predict = OnnxRuntimePredictor(str(path), threads=threads)

    def call():
        out = predict(inputs)
        return out["sequence_output"], out["pooled_output"]

    return call


# --- HF transformers (PyTorch) ------------------------------------------------------------------


def build_hf_torch(hf_dir: Path, inputs: dict, mode: str, threads: int) -> Call:
    """HF ``BertModel`` in eager PyTorch (``mode="eager"``), under ``torch.compile``
    (``"compile"``), or with its Linear layers dynamically quantized to int8 (``"int8"``:
    ``torch.ao.quantization.quantize_dynamic``); ``torch.inference_mode()`` throughout."""
    import warnings

    import torch
    import transformers

    torch.set_num_threads(threads)
    model = transformers.BertModel.from_pretrained(hf_dir).eval()
    if mode == "int8":
        from torch.ao.quantization import quantize_dynamic

        with warnings.catch_warnings():  # torch.ao's deprecation notes
            warnings.simplefilter("ignore")
            model = quantize_dynamic(model, {torch.nn.Linear}, dtype=torch.qint8)
    run = torch.compile(model) if mode == "compile" else model
    feed = {key: torch.from_numpy(value) for key, value in hf_inputs(inputs).items()}

    def call():
        with torch.inference_mode():
            out = run(**feed)
        return out.last_hidden_state.numpy(), out.pooler_output.numpy()

    return call


# --- KerasHub -----------------------------------------------------------------------------------


def build_kerashub(dims: dict, inputs: dict, xla: bool) -> Call:
    """KerasHub ``BertBackbone`` of the same shape (its own random weights: its GELU differs
    from the shared model's, so its outputs are not compared) in a ``tf.function``."""
    try:
        import keras_hub
    except ImportError:
        raise Skipped("keras-hub is not installed (pip install -e '.[bench]')") from None
    from jbert_tf2.backend import tensorflow

    tf = tensorflow()
    model = keras_hub.models.BertBackbone(
        vocabulary_size=dims["vocab"],
        num_layers=dims["layers"],
        num_heads=dims["heads"],
        hidden_dim=dims["hidden"],
        intermediate_dim=dims["intermediate"],
        max_sequence_length=512,
    )
    feed = {
        "token_ids": tf.constant(inputs["input_ids"]),
        "segment_ids": tf.constant(inputs["segment_ids"]),
        "padding_mask": tf.constant(inputs["input_mask"]),
    }

    @tf.function(jit_compile=xla)
    def forward(feed):
        out = model(feed, training=False)
        return out["sequence_output"], out["pooled_output"]

    def call():
        sequence, pooled = forward(feed)
        return sequence.numpy(), pooled.numpy()

    return call


# --- ONNX Runtime through HF's own exporter (optimum) -------------------------------------------


def ort_session_options(threads: int):
    """ONNX Runtime session options: ``threads`` intra-op threads, one inter-op (sequential)."""
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    return options


def _optimum_export(hf_dir: Path, variant: str, cache: Path) -> tuple[Path, str]:
    """optimum's ONNX export of the HF model, optimized (``"o2"``: ORTOptimizer level 2) or
    quantized (``"int8"``: ORTQuantizer, dynamic, per tensor, avx512_vnni or avx2 by the CPU);
    cached in ``cache``. Returns the directory and the ONNX file's name."""
    from optimum.onnxruntime import ORTModelForFeatureExtraction, ORTOptimizer, ORTQuantizer
    from optimum.onnxruntime.configuration import AutoQuantizationConfig, OptimizationConfig

    plain = cache / "optimum"
    if not (plain / "model.onnx").is_file():
        ORTModelForFeatureExtraction.from_pretrained(hf_dir, export=True).save_pretrained(plain)
    if variant == "float32":
        return plain, "model.onnx"
    if variant == "o2":
        out = cache / "optimum-o2"
        if not (out / "model_optimized.onnx").is_file():
            ORTOptimizer.from_pretrained(plain).optimize(
                save_dir=out, optimization_config=OptimizationConfig(optimization_level=2)
            )
        return out, "model_optimized.onnx"
    out = cache / "optimum-int8"
    if not (out / "model_quantized.onnx").is_file():
        vnni = "avx512_vnni" in Path("/proc/cpuinfo").read_text(encoding="ascii", errors="replace")
        config = (AutoQuantizationConfig.avx512_vnni if vnni else AutoQuantizationConfig.avx2)(
            is_static=False, per_channel=False
        )
        ORTQuantizer.from_pretrained(plain).quantize(save_dir=out, quantization_config=config)
    return out, "model_quantized.onnx"


def build_optimum(hf_dir: Path, inputs: dict, variant: str, threads: int, cache: Path) -> Call:
    """optimum's ``ORTModelForFeatureExtraction`` on its export of the HF model (``variant``:
    ``"float32"``, ``"o2"`` or ``"int8"``), called with numpy arrays as its docs show."""
    try:
        from optimum.onnxruntime import ORTModelForFeatureExtraction
    except ImportError as exc:
        raise Skipped(
            f"optimum[onnxruntime] is not importable ({exc}); optimum-onnx 0.1 needs "
            f"transformers<4.58, so install it apart: {OPTIMUM_INSTALL}, then pass "
            "--optimum-site DIR"
        ) from None
    directory, file_name = _optimum_export(hf_dir, variant, cache)
    model = ORTModelForFeatureExtraction.from_pretrained(
        directory, file_name=file_name, session_options=ort_session_options(threads)
    )
    feed = hf_inputs(inputs)

    def call():
        out = model(**feed)
        return np.asarray(out.last_hidden_state), None

    return call


# --- timing -------------------------------------------------------------------------------------


def own_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def time_calls(call: Call, warmup: int, min_calls: int, min_seconds: float) -> dict:
    """``warmup`` untimed calls, then timed calls until at least ``min_calls`` ran and
    ``min_seconds`` passed; the seconds of each, and what else the machine did meanwhile.

    Raises:
        RuntimeError: the process was stopped (SIGSTOP) while timing: its times would
            measure the pause.
    """
    pauses = PauseWatch()
    started = time.perf_counter()
    outputs = call()
    for _ in range(warmup - 1):
        call()
    warmup_seconds = time.perf_counter() - started
    busy, own, paused = busy_seconds(), own_cpu_seconds(), pauses.paused
    seconds: list[float] = []
    begin = time.perf_counter()
    while len(seconds) < min_calls or time.perf_counter() - begin < min_seconds:
        start = time.perf_counter()
        call()
        seconds.append(time.perf_counter() - start)
    timed = time.perf_counter() - begin
    if pauses.paused > paused:
        raise RuntimeError(
            f"the worker was stopped (SIGSTOP) for {pauses.paused - paused:.0f} s while timing"
        )
    return {
        "outputs": outputs,
        "seconds": seconds,
        "median_s": statistics.median(seconds),
        "warmup_seconds": warmup_seconds,
        "timed_seconds": timed,
        "cpu_seconds": own_cpu_seconds() - own,
        "other_cpu_seconds": max(0.0, (busy_seconds() - busy) - (own_cpu_seconds() - own)),
        "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def pin_threads(threads: int) -> int:
    """Pin this process to the first ``threads`` cores it may use (TensorFlow's pools size
    themselves from the affinity mask); returns the number of cores it then has."""
    allowed = sorted(os.sched_getaffinity(0))
    if threads < len(allowed):
        os.sched_setaffinity(0, allowed[:threads])
    return len(os.sched_getaffinity(0))
