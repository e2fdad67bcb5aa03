"""evmult: multiply simulated decays with a variational auto-encoder.

The pipeline, one module or folder per step, data flowing downwards::

    read        evmult.io          ROOT (TTree, RNTuple) files -> Events (MeV) + input Schema
    describe    evmult.decay       "D_s+ -> K+ K- pi+" -> decay tree with PDG masses
    kinematics  evmult.physics     masses, momenta, angles on numpy arrays and torch tensors
    represent   evmult.representations   Events <-> model features (decay-frame, onshell, cartesian, squared)
    model       evmult.model       the VAE: encoder, decoder, prior, ELBO + mass term; trainer
    fit/sample  evmult.synthesizer representation + model + schema: fit, sample, save, load
    export      evmult.export      decoder + inverse transforms as one ONNX graph, for C++
    scale out   evmult.distributed training in torchrun processes (DDP), generation on Dask
    validate    evmult.validate    generated vs reference: metrics.json, figures, HTML report
    demo data   evmult.samples     D_s+ -> K+ K- pi+ from Pythia 8 (optional extra)
    run         evmult.pipeline    multiply: read -> split -> fit -> generate -> validate -> report
    face        evmult.cli         the `evmult` command

Events stay in MeV inside evmult; files keep their own units.
"""

__version__ = "0.1.0"
