"""Signed checkpoints (signed tree heads) of the audit log, and the Ed25519 key that signs them.

A checkpoint's signed body is the C2SP "checkpoint" note text: origin, tree size and the base64
root hash, one per line. Anyone holding the public key can check a checkpoint offline; a consumer
that keeps one can later demand a consistency proof from it to the current tree.
"""

from __future__ import annotations

import base64
import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from citydata.errors import CityDataError


@dataclass(frozen=True)
class Checkpoint:
    origin: str
    size: int
    root: bytes
    signature: bytes

    def body(self) -> bytes:
        return checkpoint_body(self.origin, self.size, self.root)

    def to_json(self) -> str:
        d = asdict(self)
        d["root"] = self.root.hex()
        d["signature"] = base64.b64encode(self.signature).decode()
        return json.dumps(d, sort_keys=True)

    @classmethod
    def from_json(cls, text: str, where: str = "checkpoint") -> Checkpoint:
        try:
            d = json.loads(text)
            return cls(str(d["origin"]), int(d["size"]), bytes.fromhex(d["root"]),
                       base64.b64decode(d["signature"], validate=True))
        except (ValueError, KeyError, TypeError) as exc:
            raise CityDataError(f"{where} is not a citydata checkpoint ({exc}): "
                                "use a file written by the audit log") from None


def checkpoint_body(origin: str, size: int, root: bytes) -> bytes:
    return f"{origin}\n{size}\n{base64.b64encode(root).decode()}\n".encode()


def sign_checkpoint(key: Ed25519PrivateKey, origin: str, size: int, root: bytes) -> Checkpoint:
    return Checkpoint(origin, size, root, key.sign(checkpoint_body(origin, size, root)))


def signature_valid(public: Ed25519PublicKey, checkpoint: Checkpoint) -> bool:
    try:
        public.verify(checkpoint.signature, checkpoint.body())
    except InvalidSignature:
        return False
    return True


def load_signing_key(seed_b64: str | None, path: Path) -> Ed25519PrivateKey:
    """The key from ``seed_b64`` (base64 of a 32-byte Ed25519 seed, from the environment) or from
    ``path``; with neither, a new key is generated into ``path`` with mode 0600."""
    if seed_b64:
        try:
            return Ed25519PrivateKey.from_private_bytes(base64.b64decode(seed_b64, validate=True))
        except ValueError:
            raise CityDataError("CITYDATA_CIRCULATION__SIGNING_KEY is not base64 of a 32-byte Ed25519 seed") from None
    if path.exists():
        if path.stat().st_mode & 0o077:
            raise CityDataError(f"signing key {path} is readable by others: chmod 600 {path}")
        try:
            key = serialization.load_pem_private_key(path.read_bytes(), password=None)
        except ValueError:
            raise CityDataError(f"signing key {path} is not a PEM private key: remove it to generate a new one") from None
        if not isinstance(key, Ed25519PrivateKey):
            raise CityDataError(f"signing key {path} is not an Ed25519 key")
        return key
    key = Ed25519PrivateKey.generate()
    path.parent.mkdir(parents=True, exist_ok=True)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(pem)
    public_path = path.with_suffix(".pub")
    public_path.write_bytes(key.public_key().public_bytes(serialization.Encoding.PEM,
                                                          serialization.PublicFormat.SubjectPublicKeyInfo))
    return key
