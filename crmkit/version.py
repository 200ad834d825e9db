"""The version of crmkit: model files record it, and refuse a file from another major version."""

__version__ = "0.1.0"
