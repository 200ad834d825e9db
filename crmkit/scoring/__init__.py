"""Pure, vectorised scorers: canonical frames in, frames and dataclasses out; no I/O, no printing."""
