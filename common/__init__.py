"""Contracts shared by every alloop process: settings, message schemas, Redis keys, adapters."""

from common.errors import UserError
from common.settings import Settings, get_settings

__all__ = ["Settings", "UserError", "get_settings"]
