"""glasses: the smart-glasses companion runtime."""

__version__ = "0.1.0"
