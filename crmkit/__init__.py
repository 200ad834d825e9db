"""crmkit: customer analytics for CRM analysts — RFM, 80/20 tiers, CLV models, lifecycle and churn risk."""

__version__ = "0.1.0"
