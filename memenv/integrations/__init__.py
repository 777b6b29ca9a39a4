"""Adapters from memenv to other training frameworks (imported on demand: each needs its framework).

- :mod:`memenv.integrations.trl`: a ``rollout_func`` that lets TRL's ``GRPOTrainer`` train on memenv
  episodes (accelerate / DeepSpeed / vLLM for runs that outgrow one machine).
"""
