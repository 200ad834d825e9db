"""Model files (``crmkit value --model-out``) read back, so a batch can score with a model fitted earlier.

A file is refused, with the reason, when it is not a crmkit model file, when another major version of crmkit
wrote it (its meaning may have changed), or when a parameter is missing or not a positive number.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from crmkit.errors import BadValueError, InputFileError
from crmkit.models import FittedModels, GammaGammaModel, TransactionModel
from crmkit.schema import TIME_UNIT_DAYS
from crmkit.version import __version__

_REFIT = "fit it again with this crmkit: crmkit value FILE --model-out MODEL.json"


def load_model(path: str | Path) -> FittedModels:
    """The purchase and spend models saved in ``path``, with the time unit of their parameters."""
    path = Path(path)
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputFileError(f"model file {path} does not exist") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise InputFileError(f"{path} is not a readable crmkit model file ({error})", hint=_REFIT) from None
    if not isinstance(document, dict) or "params" not in document or "gamma_gamma" not in document:
        raise InputFileError(f"{path} is not a crmkit model file (no params and gamma_gamma)", hint=_REFIT)
    _check_version(path, document.get("crmkit_version"))
    unit = document.get("time_unit")
    if unit not in TIME_UNIT_DAYS:
        raise InputFileError(f"{path}: unknown time unit {unit!r} (expected one of {', '.join(TIME_UNIT_DAYS)})")
    try:
        transactions = TransactionModel.from_dict(document)
        spend = GammaGammaModel.from_dict(document["gamma_gamma"])
    except (KeyError, TypeError, ValueError) as error:
        raise InputFileError(f"{path}: the model's parameters cannot be read ({error})", hint=_REFIT) from None
    except BadValueError as error:
        raise InputFileError(f"{path}: {error.message}", hint=_REFIT) from None
    return FittedModels(transactions, spend, str(unit))


def _check_version(path: Path, written_by: Any) -> None:
    if not isinstance(written_by, str) or not written_by.split(".")[0].isdigit():
        raise InputFileError(f"{path} does not say which version of crmkit wrote it", hint=_REFIT)
    if written_by.split(".")[0] != __version__.split(".")[0]:
        raise InputFileError(
            f"{path} was written by crmkit {written_by}; this is crmkit {__version__}, whose models may mean "
            "something else",
            hint=_REFIT,
        )
