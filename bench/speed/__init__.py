"""``make bench``: the pipeline's speed, stage by stage and end to end, on a private native stack.

See :mod:`bench.speed.run` for the phases and ``python -m bench.speed --help`` for the knobs.
"""
