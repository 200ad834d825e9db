"""Engines that run a scoring: pandas on one machine, Dask over partitions on a cluster.

Both run the same scorers. The pandas engine holds every transaction in memory (:func:`crmkit.pipeline.score`);
the Dask engine (:mod:`crmkit.engine.dask_engine`, with ``pip install 'crmkit[dask]'``) reads the files in
pieces on the workers, gathers each customer's transactions in one partition, maps the per-customer steps over
the partitions and brings only histograms and sums to the client for the global steps, so its results equal
the pandas engine's.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from crmkit.errors import OptionError
from crmkit.schema import ENGINES

#: How to get the Dask engine.
INSTALL = "pip install 'crmkit[dask]'"


@dataclass(frozen=True)
class EngineSettings:
    """Which engine runs a scoring and, for Dask, on which cluster and how the inputs are read."""

    engine: str = "pandas"
    #: Address of a running Dask scheduler (tcp://host:8786); None starts a local cluster on 127.0.0.1.
    scheduler: str | None = None
    #: Worker processes of the local cluster (default: none, one worker in this process with a thread per core)
    #: and each worker's memory limit (e.g. 4GB).
    workers: int | None = None
    memory_limit: str | None = None
    #: fsspec options for object storage URLs (s3://, gs://, abfs://), e.g. {"anon": True}.
    storage_options: Mapping[str, Any] = field(default_factory=dict)
    #: Customer partitions (default: about a million customer-day rows each).
    partitions: int | None = None
    #: Seconds to wait for the scheduler before giving up.
    timeout: float = 10.0

    def __post_init__(self) -> None:
        if self.engine not in ENGINES:
            raise OptionError(f"unknown engine {self.engine!r}; choose one of {', '.join(ENGINES)}")
        if self.workers is not None and self.workers < 1:
            raise OptionError(f"workers must be 1 or more, got {self.workers}")
        if self.partitions is not None and self.partitions < 1:
            raise OptionError(f"partitions must be 1 or more, got {self.partitions}")


def parse_storage_options(items: list[str] | None) -> dict[str, Any]:
    """``key=value`` texts as fsspec storage options; true/false and numbers become booleans and numbers."""
    options: dict[str, Any] = {}
    for item in items or []:
        key, sep, text = item.partition("=")
        if not sep or not key.strip():
            raise OptionError(f"storage option {item!r} is not KEY=VALUE", hint="e.g. --storage-option anon=true")
        options[key.strip()] = _value(text.strip())
    return options


def _value(text: str) -> Any:
    lowered = text.lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text
