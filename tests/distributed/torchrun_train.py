"""``evmult train`` as ``torchrun`` runs it, each process also recording what it ended with.

Run by ``test_training.py``, not collected by pytest::

    torchrun --standalone --nproc_per_node 2 tests/distributed/torchrun_train.py RECORDS train ...

Every process writes ``RECORDS/rank<RANK>.json``: the checksum of its final weights and its
training history, so the test can check that all processes ended alike.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

from evmult import cli, pipeline
from evmult.synthesizer import Synthesizer, checksum

records = Path(sys.argv[1])
train = pipeline.train


def train_and_record(*args: Any, **kwargs: Any) -> Synthesizer:
    synth = train(*args, **kwargs)
    assert synth.vae is not None and synth.result is not None
    record = {"checksum": checksum(synth.vae.state_dict()), "history": synth.result.history}
    (records / f"rank{os.environ['RANK']}.json").write_text(json.dumps(record))
    return synth


pipeline.train = train_and_record  # cli.cmd_train looks it up when it runs
sys.exit(cli.main(sys.argv[2:]))
