"""What leaves the team: attribute columns only on request, and keyed pseudonyms for customer ids.

Exports carry customer_id and scores by default. Columns that came only from
the customer master file (name, phone, e-mail, signup date, free-form fields)
are added with ``--include-attributes``. ``--pseudonymize KEY`` replaces every
id with HMAC-SHA256(KEY, id): the same key always gives the same pseudonym, so
whoever holds the key can join a shared list back to the CRM, and nobody
without it can reverse or re-create the mapping.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable

import pandas as pd

from crmkit.errors import OptionError
from crmkit.schema import CUSTOMER_ID

#: Hex digits kept from the HMAC: 80 bits, collision-free for any realistic customer base.
PSEUDONYM_HEX_DIGITS = 20
MIN_KEY_LENGTH = 8


def without_attributes(frame: pd.DataFrame, attributes: Iterable[str]) -> pd.DataFrame:
    """The frame minus master-file attribute columns."""
    return frame.drop(columns=[c for c in attributes if c in frame.columns])


def pseudonym_map(ids: pd.Series, key: str) -> pd.Series:
    """Distinct id → pseudonym ('p' + 20 hex digits of HMAC-SHA256 keyed with ``key``)."""
    if len(key) < MIN_KEY_LENGTH:
        raise OptionError(
            f"--pseudonymize key is too short ({len(key)} characters)",
            hint=f"use a secret of at least {MIN_KEY_LENGTH} characters and keep it to re-identify",
        )
    secret = key.encode("utf-8")
    distinct = pd.unique(ids.dropna().astype("str"))
    # hmac has no vectorised form; this runs once per distinct id, not per row.
    hashed = [
        hmac.new(secret, str(i).encode("utf-8"), hashlib.sha256).hexdigest()[:PSEUDONYM_HEX_DIGITS] for i in distinct
    ]
    return pd.Series(["p" + h for h in hashed], index=pd.Index(distinct, dtype="str"), dtype="str")


def pseudonymize(frame: pd.DataFrame, key: str, *, columns: Iterable[str] = (CUSTOMER_ID,)) -> pd.DataFrame:
    """A copy with the id columns replaced by keyed pseudonyms (missing ids stay missing)."""
    out = frame.copy()
    for column in columns:
        if column in out.columns:
            values = out[column].astype("str")
            mapping = pseudonym_map(values, key)
            out[column] = values.map(mapping).astype("str")
    return out
