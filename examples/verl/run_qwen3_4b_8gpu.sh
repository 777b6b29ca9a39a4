#!/usr/bin/env bash
# GRPO for a memenv writer on Qwen3-4B with verl 0.9.1, one node with 8 GPUs. From the repository root:
#
#   pip install -e ".[verl]" vllm         # verl's own GPU stack (vLLM, flash-attn) as its docs describe
#   python examples/verl/make_data.py --out data/memenv_verl
#   bash examples/verl/run_qwen3_4b_8gpu.sh [more hydra overrides]
#
# The overrides live in qwen3_4b_8gpu.args. Not run by memenv's authors (no GPU where it was written).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
mapfile -t overrides < <(grep -v '^\s*\(#\|$\)' "$here/qwen3_4b_8gpu.args")
exec python3 -m verl.trainer.main_ppo "${overrides[@]}" "$@"
