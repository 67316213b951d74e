"""Pick a `tf.distribute.Strategy` from a short spec: a laptop, several GPUs, many workers or a TPU.

A spec is what a user types after ``--strategy``; the errors name it and say how to fix it, so a
missing TPU or a malformed ``TF_CONFIG`` is one line rather than a TensorFlow traceback.
"""

from __future__ import annotations

import json
import logging
import os
from typing import TYPE_CHECKING, Any

from jbert_tf2.backend import tensorflow
from jbert_tf2.errors import JbertError

if TYPE_CHECKING:
    import tensorflow as tf

logger = logging.getLogger(__name__)

SPECS = ("auto", "tpu", "tpu:NAME", "mirrored", "multiworker", "cpu", "default")

# Set by Colab, Cloud TPU VMs / GKE and users of Google's TPU scripts; without one of them
# "auto" does not ask for a TPU, because a TPU look-up can wait on network time-outs.
TPU_ENV_HINTS = ("TPU_NAME", "COLAB_TPU_ADDR", "KUBE_GOOGLE_CLOUD_TPU_ENDPOINTS")

# One strategy per spec and process: a second MirroredStrategy reuses the first one's collective
# keys and its all-reduces can pair up with the wrong tensors (shape-mismatch aborts); a TPU
# system and a multi-worker runtime are initialised once per process anyway.
_resolved: dict[tuple[str, str | None], Any] = {}


def resolve_strategy(
    spec: str | tf.distribute.Strategy = "auto", tpu: str | None = None
) -> tf.distribute.Strategy:
    """Return the `tf.distribute.Strategy` that ``spec`` names (a strategy passes through).

    ``"auto"``: a TPU when the environment points at one, else `MirroredStrategy` over several
    GPUs, else the default strategy. ``"tpu"`` / ``"tpu:NAME"``: a TPU (``tpu`` names it too).
    ``"mirrored"``: all local GPUs, or the logical CPUs the program configured.
    ``"multiworker"``: `MultiWorkerMirroredStrategy` from ``TF_CONFIG``. ``"cpu"`` / ``"default"``:
    no distribution. A spec that names a distribution gives the same strategy object for the life of the process.
    """
    tf = tensorflow()
    if isinstance(spec, tf.distribute.Strategy):
        return spec
    if not isinstance(spec, str):
        raise JbertError(
            f"--strategy {spec!r}: expected a string or a tf.distribute.Strategy; "
            f"choose one of {', '.join(SPECS)}"
        )
    key = (spec.strip().lower(), tpu)
    if key in _resolved:
        return _resolved[key]
    strategy = _resolve(spec.strip(), tpu)
    if strategy is not tf.distribute.get_strategy():
        _resolved[key] = strategy
    return strategy


def _resolve(spec: str, tpu: str | None) -> Any:
    tf = tensorflow()
    name = spec.lower()
    if name == "auto":
        return _auto(tpu)
    if name == "tpu" or name.startswith("tpu:"):
        return _tpu(spec[4:] or tpu)
    if name == "mirrored":
        return _mirrored()
    if name in ("multiworker", "multi_worker", "multi-worker"):
        return _multiworker()
    if name == "default":
        return tf.distribute.get_strategy()
    if name == "cpu":
        return _cpu()
    raise JbertError(f"--strategy {spec!r} is unknown; choose one of {', '.join(SPECS)}")


def is_chief(strategy: tf.distribute.Strategy) -> bool:
    """Whether this process writes the output directory (always, except on non-chief workers)."""
    resolver = getattr(strategy, "cluster_resolver", None)
    task_type = getattr(resolver, "task_type", None)
    if resolver is None or task_type is None:
        return True
    if task_type == "chief":
        return True
    cluster = resolver.cluster_spec().as_dict()
    return task_type == "worker" and resolver.task_id == 0 and "chief" not in cluster


def _auto(tpu: str | None) -> Any:
    tf = tensorflow()
    if tpu or any(os.environ.get(var) for var in TPU_ENV_HINTS):
        try:
            return _tpu(tpu)
        except JbertError as exc:
            logger.warning("--strategy auto: %s; training without a TPU", exc)
    gpus = tf.config.list_physical_devices("GPU")
    if len(gpus) > 1:
        logger.info("--strategy auto: MirroredStrategy over %d GPUs", len(gpus))
        return tf.distribute.MirroredStrategy()
    return tf.distribute.get_strategy()


def _tpu(name: str | None) -> Any:
    tf = tensorflow()
    try:
        resolver = tf.distribute.cluster_resolver.TPUClusterResolver(tpu=name or None)
        tf.config.experimental_connect_to_cluster(resolver)
        tf.tpu.experimental.initialize_tpu_system(resolver)
        strategy = tf.distribute.TPUStrategy(resolver)
    except Exception as exc:  # TF raises ValueError, URLError, NotFoundError, RuntimeError ...
        reason = " ".join(str(exc).split())[:300] or type(exc).__name__
        raise JbertError(
            f"--strategy tpu: no TPU found (name {name!r}): {reason}; on Colab choose a TPU "
            "runtime, on GCP pass the TPU name (--strategy tpu:NAME)"
        ) from None
    logger.info("TPU strategy with %d cores", strategy.num_replicas_in_sync)
    return strategy


def _mirrored() -> Any:
    tf = tensorflow()
    if tf.config.list_physical_devices("GPU"):
        return tf.distribute.MirroredStrategy()
    cpus = [device.name for device in tf.config.list_logical_devices("CPU")]
    return tf.distribute.MirroredStrategy(devices=cpus)


def _multiworker() -> Any:
    tf = tensorflow()
    raw = os.environ.get("TF_CONFIG")
    if not raw:
        raise JbertError(
            "--strategy multiworker needs the TF_CONFIG environment variable: JSON such as "
            '{"cluster": {"worker": ["host1:port", "host2:port"]}, "task": {"type": "worker", '
            '"index": 0}}, set on every worker with its own task index'
        )
    try:
        config = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise JbertError(
            f"TF_CONFIG is not valid JSON ({exc}); fix the environment variable TF_CONFIG"
        ) from None
    if not isinstance(config, dict) or "cluster" not in config or "task" not in config:
        raise JbertError(
            "TF_CONFIG must be a JSON object with 'cluster' and 'task' keys; "
            f"got {raw[:200]!r}; fix the environment variable TF_CONFIG"
        )
    return tf.distribute.MultiWorkerMirroredStrategy()


def _cpu() -> Any:
    tf = tensorflow()
    if tf.config.list_physical_devices("GPU") or tf.config.list_physical_devices("TPU"):
        return tf.distribute.OneDeviceStrategy("/cpu:0")
    return tf.distribute.get_strategy()
