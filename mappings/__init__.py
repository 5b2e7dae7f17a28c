from mappings.checks import checks_register

__all__ = ["checks_register"]
