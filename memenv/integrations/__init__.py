"""Adapters from memenv to other training frameworks (imported on demand: each needs its framework).

- :mod:`memenv.integrations.trl`: a ``rollout_func`` that lets TRL's ``GRPOTrainer`` train on memenv
  episodes (accelerate / DeepSpeed / vLLM for runs that outgrow one machine). Extra ``trl``.
- :mod:`memenv.integrations.verl`: a verl agent loop (one sample per chunk step) and its parquet
  builder. Extra ``verl``.
- :mod:`memenv.integrations.skyrl`: memenv envs as SkyRL-gym text environments. Extra ``skyrl``.
- :mod:`memenv.integrations.verifiers`: a ``verifiers.v1`` taskset, env and harness (taskset id
  ``memenv-verifiers``) for prime-rl and ``vf-eval``. Extra ``verifiers``.

Which to use, and how memenv's reward parts map onto each framework's reward: ``docs/rl-stacks.md``.
"""
