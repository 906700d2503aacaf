"""The owner account of the embedded Argilla server: random, created once, readable by its owner only."""

import json
import secrets
from pathlib import Path

from pydantic import BaseModel, Field, ValidationError

from common.files import atomic_write_text
from stack.errors import StackError

OWNER_USERNAME = "alloop"


class Credentials(BaseModel):
    """How the owner signs in to the UI (username, password) and the SDK (API key)."""

    username: str = OWNER_USERNAME
    password: str = Field(min_length=8)
    api_key: str = Field(min_length=8)


def load_or_create(path: Path) -> Credentials:
    """Read the owner's credentials, creating random ones (mode 600) on first use."""
    if path.exists():
        try:
            return Credentials.model_validate(json.loads(path.read_text()))
        except (ValueError, ValidationError):
            raise StackError(
                f"{path} is not a valid credentials file; delete it to create a new owner login"
            ) from None
    credentials = Credentials(
        password=secrets.token_urlsafe(12), api_key=f"alloop.{secrets.token_urlsafe(32)}"
    )
    atomic_write_text(path, credentials.model_dump_json(indent=2), mode=0o600)
    return credentials
