"""The one place crmkit reads input files: transactions, the customer master, crmkit.toml and model files."""

from crmkit.ingest.config import load_config
from crmkit.ingest.customers import load_customers, match_customers
from crmkit.ingest.dates import parse_date
from crmkit.ingest.files import expand_paths
from crmkit.ingest.inspect import inspect_transactions
from crmkit.ingest.model_file import load_model
from crmkit.ingest.report import CustomerData, FileReport, IngestReport, TransactionData
from crmkit.ingest.status import StatusRules
from crmkit.ingest.transactions import load_transactions

__all__ = [
    "CustomerData",
    "FileReport",
    "IngestReport",
    "StatusRules",
    "TransactionData",
    "expand_paths",
    "inspect_transactions",
    "load_config",
    "load_customers",
    "load_model",
    "load_transactions",
    "match_customers",
    "parse_date",
]
