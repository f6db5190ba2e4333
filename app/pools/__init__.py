"""Securitisation pools: eligibility, selection (the optimiser), lock and transfer, the tape."""
