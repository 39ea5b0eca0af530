"""Explicit constructions of the proofs as torch modules (hand-set weights, stated guarantees).

Every construction's weights are an exact spec (:mod:`loopbound.constructions.spec`); its builder
returns one :class:`~loopbound.constructions.built.Built`: ``.model``, the torch module, and
``.guarantee``, the record of what it claims (error bound, loops, widths, heads, parameters,
precision needed; :class:`~loopbound.constructions.built.Guarantee`).
"""
