"""Pool cash-flow projections (SPEC 3.9a): a pure numeric core (``engine``, ``waterfall``) fed
by the pool's frozen facts, stored and presented by ``service``."""
