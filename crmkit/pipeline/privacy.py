"""What leaves the team: attribute columns only on request, and keyed pseudonyms for customer ids.

Exports carry customer_id and scores by default. Columns that came only from
the customer master file (name, phone, e-mail, signup date, free-form fields)
are added with ``--include-attributes``. ``--pseudonymize KEY`` replaces every
id with HMAC-SHA256(KEY, id): the same key always gives the same pseudonym, so
whoever holds the key can join a shared list back to the CRM, and nobody
without it can reverse or re-create the mapping.

:class:`Sharing` is applied by the pipeline to everything a run hands to the output layer — the customer
table, the at-risk list, the rejected rows and the examples of dropped rows — so no output can miss it.
"""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
from collections.abc import Iterable
from dataclasses import dataclass

import pandas as pd

from crmkit.errors import OptionError
from crmkit.ingest.report import IngestReport, TransactionData
from crmkit.schema import CUSTOMER_ID

#: Hex digits kept from the HMAC: 80 bits, collision-free for any realistic customer base.
PSEUDONYM_HEX_DIGITS = 20
MIN_KEY_LENGTH = 8


@dataclass(frozen=True)
class Sharing:
    """What of a run may leave the team: master-file attributes (``include_attributes``) and raw ids
    (replaced by keyed pseudonyms when ``pseudonym_key`` is set)."""

    include_attributes: bool = False
    pseudonym_key: str | None = None

    def __post_init__(self) -> None:
        if self.pseudonym_key is not None and len(self.pseudonym_key) < MIN_KEY_LENGTH:
            raise OptionError(
                f"the pseudonym key is too short ({len(self.pseudonym_key)} characters)",
                hint=f"use a secret of at least {MIN_KEY_LENGTH} characters and keep it to re-identify",
            )

    def customers(self, frame: pd.DataFrame, attributes: Iterable[str]) -> pd.DataFrame:
        """A per-customer frame as it may be shared."""
        if not self.include_attributes:
            frame = without_attributes(frame, attributes)
        return self.ids(frame)

    def ids(self, frame: pd.DataFrame) -> pd.DataFrame:
        """The frame with its customer ids pseudonymised (unchanged without a key)."""
        return frame if self.pseudonym_key is None else pseudonymize(frame, self.pseudonym_key)

    def transactions(self, data: TransactionData) -> TransactionData:
        """Read transactions as their rejected rows and drop examples may be shown: ids pseudonymised."""
        if self.pseudonym_key is None:
            return data
        key = self.pseudonym_key
        return dataclasses.replace(data, rejects=pseudonymize(data.rejects, key), report=_report(data.report, key))


def _report(report: IngestReport, key: str) -> IngestReport:
    """The report with the examples that quote a customer id (the file's id column) pseudonymised."""
    id_header = {f.path: f.mapping.get(CUSTOMER_ID) for f in report.files}
    examples = [
        {**example, "value": pseudonym_map(pd.Series([example["value"]]), key).iloc[0]}
        if example.get("value") and example.get("column") == id_header.get(str(example.get("file")))
        else example
        for example in report.examples
    ]
    return dataclasses.replace(report, examples=examples)


def without_attributes(frame: pd.DataFrame, attributes: Iterable[str]) -> pd.DataFrame:
    """The frame minus master-file attribute columns."""
    return frame.drop(columns=[c for c in attributes if c in frame.columns])


def pseudonym_map(ids: pd.Series, key: str) -> pd.Series:
    """Distinct id → pseudonym ('p' + 20 hex digits of HMAC-SHA256 keyed with ``key``)."""
    if len(key) < MIN_KEY_LENGTH:
        raise OptionError(
            f"the pseudonym key is too short ({len(key)} characters)",
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
    """A copy with the id columns replaced by keyed pseudonyms (missing and empty ids stay as they are)."""
    out = frame.copy()
    for column in columns:
        if column in out.columns:
            values = out[column].astype("str")
            mapping = pseudonym_map(values.where(values != ""), key)
            out[column] = values.map(mapping).where(values != "", values).astype("str")
    return out
