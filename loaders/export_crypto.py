"""Parquet modular encryption of an export's secret columns (and its footer).

Keys are given as ``id:base64,id:base64`` (16, 24 or 32 bytes each) — the form of Parquet's
``parquet.encryption.key.list`` — in ``ZICHT_EXPORT_KEYS``. The first key protects the footer,
the second (or the first again) the secret columns. Data keys are fresh per file and wrapped
locally with these master keys by AES-GCM (additional data: the master key's id), written
beside the data as Parquet's key material: a reader needs the same master keys, through a KMS
client of its own (see docs/spark.md).
"""

from __future__ import annotations

import base64
import binascii
import json
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import pyarrow.dataset as pads
import pyarrow.parquet.encryption as pe
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from loaders.releases import ReleaseError

ENV = "ZICHT_EXPORT_KEYS"
# What the noise of every published figure is built from, and who contributed: never in clear
# unless the operator asks for it.
SECRET_COLUMNS = frozenset({"record_key", "holding", "rk"})  # rk: a rollup's record-key sum
NONCE = 12


@dataclass(frozen=True, slots=True)
class ExportKeys:
    """Master keys by id; ``footer`` and ``columns`` name the two in use."""

    keys: Mapping[str, bytes]
    footer: str
    columns: str

    def __repr__(self) -> str:  # never print key bytes
        return f"ExportKeys(ids={sorted(self.keys)})"


def parse_keys(text: str) -> ExportKeys:
    """``id:base64[,id:base64]`` → keys; every problem in one ``ReleaseError`` (no key bytes)."""
    keys: dict[str, bytes] = {}
    problems = []
    for n, item in enumerate(p.strip() for p in text.split(",") if p.strip()):
        ident, sep, encoded = item.partition(":")
        if not sep or not ident.strip():
            problems.append(f"key {n + 1}: expected id:base64")
            continue
        try:
            raw = base64.b64decode(encoded.strip(), validate=True)
        except binascii.Error:
            problems.append(f"key {ident.strip()!r}: not base64")
            continue
        if len(raw) not in (16, 24, 32):
            problems.append(f"key {ident.strip()!r}: {len(raw)} bytes, not 16, 24 or 32")
            continue
        keys[ident.strip()] = raw
    if not keys and not problems:
        problems.append("no key given")
    if problems:
        raise ReleaseError(f"{ENV}: " + "; ".join(problems))
    ids = list(keys)
    return ExportKeys(keys, ids[0], ids[1] if len(ids) > 1 else ids[0])


def keys_from_environment(environ: Mapping[str, str] = os.environ) -> ExportKeys | None:
    text = environ.get(ENV, "").strip()
    return parse_keys(text) if text else None


class _LocalWrap(pe.KmsClient):
    """Wraps data keys with a master key held here: AES-GCM, nonce first, the key id as
    additional data, serialised as ``{"masterKeyVersion", "encryptedKey"}``."""

    def __init__(self, keys: Mapping[str, bytes]):
        super().__init__()
        self._keys = dict(keys)

    def _master(self, ident: str) -> AESGCM:
        if ident not in self._keys:
            raise KeyError(f"no export key with id {ident!r}")
        return AESGCM(self._keys[ident])

    def wrap_key(self, key_bytes: bytes, master_key_identifier: str) -> str:
        nonce = os.urandom(NONCE)
        sealed = self._master(master_key_identifier).encrypt(
            nonce, bytes(key_bytes), master_key_identifier.encode()
        )
        encoded = base64.b64encode(nonce + sealed).decode()
        return json.dumps({"masterKeyVersion": "NO_VERSION", "encryptedKey": encoded})

    def unwrap_key(self, wrapped_key: str, master_key_identifier: str) -> bytes:
        blob = base64.b64decode(json.loads(wrapped_key)["encryptedKey"])
        try:
            return self._master(master_key_identifier).decrypt(
                blob[:NONCE], blob[NONCE:], master_key_identifier.encode()
            )
        except InvalidTag:
            raise KeyError(
                f"export key {master_key_identifier!r} does not open this file"
            ) from None


def crypto_factory(keys: ExportKeys) -> pe.CryptoFactory:
    return pe.CryptoFactory(lambda _config: _LocalWrap(keys.keys))


def encryption_config(keys: ExportKeys, columns: Iterable[str]) -> Any:
    """The dataset writer's encryption: footer and ``columns`` encrypted (AES-GCM)."""
    return pads.ParquetEncryptionConfig(
        crypto_factory(keys), pe.KmsConnectionConfig(), _configuration(keys, columns)
    )


def file_encryption(keys: ExportKeys, columns: Iterable[str]) -> Any:
    """The same encryption for one file written by ``pyarrow.parquet`` directly."""
    return crypto_factory(keys).file_encryption_properties(
        pe.KmsConnectionConfig(), _configuration(keys, columns)
    )


def _configuration(keys: ExportKeys, columns: Iterable[str]) -> Any:
    return pe.EncryptionConfiguration(
        footer_key=keys.footer,
        column_keys={keys.columns: sorted(columns)},
        encryption_algorithm="AES_GCM_V1",
        plaintext_footer=False,
        double_wrapping=False,
        cache_lifetime=None,
    )


def decryption_properties(keys: ExportKeys) -> Any:
    """For reading an encrypted export back with pyarrow (tests, tools)."""
    return crypto_factory(keys).file_decryption_properties(pe.KmsConnectionConfig())
