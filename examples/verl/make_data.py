"""Write the parquet files verl reads for memenv: synthetic episodes, or the rows of a memenv dataset.

python examples/verl/make_data.py --out data/memenv_verl                       # 4096 train / 64 val
python examples/verl/make_data.py --out data/memenv_verl --dataset train.parquet --source memalpha
"""

from __future__ import annotations

import argparse
import json

from memenv.integrations.verl import build_dataset


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", default="data/memenv_verl", help="folder for train.parquet and val.parquet")
    parser.add_argument("--env-id", default="memenv/MemAlpha-v0")
    parser.add_argument(
        "--env-kwargs",
        default='{"task": "mixed", "context_tokens": 4096, "chunk_tokens": 512, "num_questions": 8}',
        help="gym.make keyword arguments as JSON",
    )
    parser.add_argument("--train-episodes", type=int, default=4096)
    parser.add_argument("--val-episodes", type=int, default=64)
    parser.add_argument("--dataset", default=None, help="a memenv dataset (memenv.tasks.load); last rows = val")
    parser.add_argument("--source", default=None)
    parser.add_argument("--dataset-split", default=None)
    args = parser.parse_args(argv)
    common = {"env_id": args.env_id, "env_kwargs": json.loads(args.env_kwargs)}
    if args.dataset:
        from memenv.tasks import load

        total = len(load(args.source, args.dataset, split=args.dataset_split))
        data = {"dataset": args.dataset, "source": args.source, "dataset_split": args.dataset_split}
        first_val = total - args.val_episodes  # the last rows are held out
        train = build_dataset(f"{args.out}/train.parquet", **common, **data, num_episodes=first_val)
        val = build_dataset(f"{args.out}/val.parquet", **common, **data, seed_offset=first_val)
    else:
        # Validation seeds far from the training seeds: the two sets never share an episode.
        train = build_dataset(f"{args.out}/train.parquet", **common, num_episodes=args.train_episodes)
        val = build_dataset(f"{args.out}/val.parquet", **common, num_episodes=args.val_episodes, seed_offset=1_000_000)
    print(train, val)


if __name__ == "__main__":
    main()
