"""Where the Milvus index backend connects: a settings sub-config (`VSX_MILVUS__URI`, `VSX_MILVUS__TOKEN`)."""

from __future__ import annotations

from pydantic import BaseModel, SecretStr


class MilvusConfig(BaseModel):
    """`uri` of a Milvus cluster (`http://milvus:19530`) or of a milvus-lite file (`path/milvus.db`, an embedded
    Milvus for one machine and tests); empty → milvus-lite in the data folder. Collections are named
    `<collection_prefix>_<index name>_<version>`."""

    uri: str = ""
    token: SecretStr = SecretStr("")
    collection_prefix: str = "vsx"
