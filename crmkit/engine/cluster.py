"""The Dask cluster a scoring runs on: an existing one at an address, or a local one started and stopped here."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from typing import Any

from crmkit.engine import INSTALL, EngineSettings
from crmkit.errors import OptionError


def require_dask() -> None:
    """Refuse with the install command when the dask extra is missing."""
    try:
        import dask  # noqa: F401
        import distributed  # noqa: F401
        import fsspec  # noqa: F401
    except ImportError:
        raise OptionError(
            "--engine dask needs Dask, which is not installed", hint=f"install it with {INSTALL}"
        ) from None


@contextlib.contextmanager
def dask_client(settings: EngineSettings) -> Iterator[Any]:
    """A client of the scheduler at ``settings.scheduler`` (or ``DASK_SCHEDULER_ADDRESS``), else of a local
    cluster (:func:`local_cluster_options`), closed (and the local cluster stopped) on exit."""
    require_dask()
    from distributed import Client, LocalCluster

    address = settings.scheduler or os.environ.get("DASK_SCHEDULER_ADDRESS") or None
    if address:
        try:
            client = Client(address, timeout=settings.timeout, set_as_default=False)
        except (OSError, TimeoutError) as error:
            raise OptionError(
                f"cannot reach the Dask scheduler at {address} within {settings.timeout:g} s ({type(error).__name__})",
                hint="check the address and that the scheduler runs (dask scheduler), or leave out --scheduler "
                "to start a local cluster",
            ) from None
        with client:
            yield client
        return
    cluster = LocalCluster(**local_cluster_options(settings))
    with cluster, Client(cluster, set_as_default=False) as client:
        yield client


def local_cluster_options(settings: EngineSettings) -> dict[str, Any]:
    """How the local cluster runs: without ``--workers``, one worker in this process with a thread per core
    (pandas, NumPy and Arrow release the GIL in their loops, and rows then move between tasks without being
    pickled: at 10M rows a third fewer CPU seconds than two worker processes); with ``--workers N``, N worker
    processes on 127.0.0.1 of one thread each (a worker that dies is restarted and its tasks rerun)."""
    common = {
        "dashboard_address": ":0",  # any free port: no clash with another cluster on this machine
        "silence_logs": 50,
        "memory_limit": settings.memory_limit or "auto",
    }
    if settings.workers is None:
        return {**common, "n_workers": 1, "threads_per_worker": os.cpu_count() or 1, "processes": False}
    return {**common, "n_workers": settings.workers, "threads_per_worker": 1, "processes": True, "host": "127.0.0.1"}
