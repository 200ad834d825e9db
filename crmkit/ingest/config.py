"""crmkit.toml: read once, its tables handed to the layers that own them."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from crmkit.errors import InputFileError

CONFIG_SECTIONS = ("columns", "tiers", "rfm", "value", "lifecycle", "churn", "output", "delivered_value", "status")


DEFAULT_CONFIG = Path("crmkit.toml")


# --- config -----------------------------------------------------------------------------
def load_config(path: Path | None) -> dict[str, Any]:
    """``crmkit.toml`` as a dict: the given file, else ./crmkit.toml when present, else empty."""
    if path is None:
        if not DEFAULT_CONFIG.is_file():
            return {}
        path = DEFAULT_CONFIG
    try:
        with Path(path).open("rb") as handle:
            config = tomllib.load(handle)
    except FileNotFoundError:
        raise InputFileError(f"config file {path} does not exist", hint="check the --config path") from None
    except OSError as error:
        raise InputFileError(f"cannot read config file {path}: {error.strerror}") from None
    except tomllib.TOMLDecodeError as error:
        raise InputFileError(
            f"config file {path} is not valid TOML: {error}",
            hint='tables look like [columns] with lines such as amount = "实收金额"',
        ) from None
    unknown = sorted(set(config) - set(CONFIG_SECTIONS))
    if unknown:
        raise InputFileError(
            f"config file {path} has unknown section(s) [{'], ['.join(unknown)}]",
            hint="known sections: " + ", ".join(f"[{s}]" for s in CONFIG_SECTIONS),
        )
    for section, table in config.items():
        if not isinstance(table, dict):
            raise InputFileError(f"config file {path}: {section} must be a table like [{section}]")
    return config
