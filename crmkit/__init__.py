"""crmkit: customer analytics for CRM analysts — RFM, 80/20 tiers, CLV models, lifecycle and churn risk."""

from crmkit.version import __version__

__all__ = ["__version__"]
