"""File outputs: CSV/Parquet/JSON tables, the analyst workbook, all written atomically."""

from crmkit.output.atomic import atomic_write
from crmkit.output.excel import write_workbook
from crmkit.output.tables import write_table

__all__ = ["atomic_write", "write_table", "write_workbook"]
