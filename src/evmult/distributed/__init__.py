"""Beyond one process, on existing engines.

- :mod:`evmult.distributed.training` -- PyTorch DistributedDataParallel, started with ``torchrun``
  (gloo on CPUs, NCCL on GPUs).
- :mod:`evmult.distributed.generation` -- independent generation chunks on a Dask cluster (a
  LocalCluster, or a scheduler address as dask-jobqueue gives on HTCondor or SLURM), each chunk
  its own file, with a manifest; the merged result does not depend on the number of workers.
"""
