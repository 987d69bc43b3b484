"""Webhook signing secrets at rest: encrypted with a key derived from CRM_SECRET_KEY (Fernet:
AES-128-CBC with HMAC-SHA256, from `cryptography`). The relay needs the plain secret to sign, so it
cannot be a one-way hash; a database dump alone does not reveal it. Changing CRM_SECRET_KEY makes
the stored secrets unreadable: deliveries then fail with "cannot decrypt" and the webhooks must be
registered again."""
from __future__ import annotations

import base64

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

INFO = b"crm webhook signing secrets v1"


class SecretUnreadable(Exception):
    pass


class SecretBox:
    def __init__(self, master_key: str) -> None:
        key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=INFO).derive(master_key.encode())
        self._fernet = Fernet(base64.urlsafe_b64encode(key))

    def seal(self, secret: str) -> str:
        return self._fernet.encrypt(secret.encode()).decode()

    def open(self, token: str) -> str:
        try:
            return self._fernet.decrypt(token.encode()).decode()
        except InvalidToken:
            raise SecretUnreadable("cannot decrypt the webhook's secret (was CRM_SECRET_KEY changed?)") from None
