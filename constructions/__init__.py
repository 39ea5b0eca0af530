"""Explicit constructions of the proofs as torch modules (hand-set weights, stated guarantees).

Each construction is a ``torch.nn.Module`` built by one pure function that also returns the record
of its guarantee (claimed error bound, loops, widths, precision needed). Filled in by the
constructions issue; importable now so the layout is fixed.
"""
