"""Which Faiss factory strings `SearchIndex.build` accepts, checked before `faiss.index_factory` sees one.

Faiss checks some factory parameters and not others: `HNSW0` passes the factory and aborts the process in the
first `add` (a failed C++ assertion), `HNSW1`, `RR0` and `PCAR0` crash it (SIGSEGV), `PQ16x0` divides by zero
(SIGFPE), and `NSG*` builds run for minutes on a few thousand vectors. A process that dies that way cannot
answer with an error, so the strings are held to a grammar of the index types this project serves, with every
number in a range that works:

    [transform,]... main [,RFlat]
    transform: PCA<d> | PCAR<d> | PCAW<d> | PCAWR<d>   (1 <= d <= input dimension)
               OPQ<M>[_<d>]                            (M divides d; d defaults to the input dimension)
               RR<d> | L2norm
    main:      Flat | HNSW<M>[,Flat]                   (2 <= M <= 256)
               IVF<n>[_HNSW<M>],<code>                 (1 <= n <= 2^20)
               PQ<m>[x<b>][np] | SQ<4|6|8|fp16|bf16>
    code:      Flat | PQ<m>[x<b>][np] | SQ<4|6|8|fp16|bf16>   (m divides the dimension, 1 <= b <= 16)
"""

from __future__ import annotations

import re
from typing import NoReturn

from search_core.errors import InvalidFactoryError

MAX_FACTORY_LENGTH = 200
MAX_DIM = 65_536
HNSW_M = (2, 256)
IVF_LISTS = (1, 1 << 20)
PQ_BITS = (1, 16)

_NUMBER = r"(\d{1,7})"
_PCA = re.compile(rf"PCAW?R?{_NUMBER}")
_OPQ = re.compile(rf"OPQ{_NUMBER}(?:_{_NUMBER})?")
_RR = re.compile(rf"RR{_NUMBER}")
_HNSW = re.compile(rf"HNSW{_NUMBER}")
_IVF = re.compile(rf"IVF{_NUMBER}(?:_HNSW{_NUMBER})?")
_PQ = re.compile(rf"PQ{_NUMBER}(?:x{_NUMBER})?(np)?")
_SQ = re.compile(r"SQ(?:4|6|8|fp16|bf16)")
SUPPORTED = "[PCA<d>|OPQ<M>[_<d>]|RR<d>|L2norm,]... Flat|HNSW<M>|IVF<n>[_HNSW<M>],<code>|PQ<m>[x<b>][np]|SQ<q> [,RFlat]"


def check_factory(factory: str, dim: int) -> None:
    """Raise `InvalidFactoryError` unless `factory` is in the grammar above for vectors of dimension `dim`."""
    if not factory or len(factory) > MAX_FACTORY_LENGTH:
        _refuse(factory, f"must be 1 to {MAX_FACTORY_LENGTH} characters")
    parts = factory.split(",")
    if len(parts) > 1 and parts[-1] == "RFlat":
        parts.pop()
    position = 0
    while position < len(parts) - 1 and (transformed := _transform(factory, parts[position], dim)) is not None:
        dim = transformed
        position += 1
    main, rest = parts[position], parts[position + 1 :]
    if main == "Flat" or _SQ.fullmatch(main):
        pass
    elif match := _HNSW.fullmatch(main):
        _in_range(factory, "HNSW's M", int(match[1]), HNSW_M)
        rest = rest[1:] if rest[:1] == ["Flat"] else rest
    elif match := _IVF.fullmatch(main):
        _in_range(factory, "IVF's list count", int(match[1]), IVF_LISTS)
        if match[2] is not None:
            _in_range(factory, "the HNSW quantizer's M", int(match[2]), HNSW_M)
        if not rest:
            _refuse(factory, f"{main} needs a code after it (Flat, PQ<m>, SQ8)")
        _code(factory, rest.pop(0), dim)
    elif match := _PQ.fullmatch(main):
        _pq(factory, match, dim)
    else:
        _refuse(factory, f"{main!r} is not a supported component (supported: {SUPPORTED})")
    if rest:
        _refuse(factory, f"unexpected {','.join(rest)!r} after {main!r} (supported: {SUPPORTED})")


def _transform(factory: str, part: str, dim: int) -> int | None:
    """The dimension after the transform `part`, or None when `part` is not a transform."""
    if part == "L2norm":
        return dim
    if match := _PCA.fullmatch(part):
        return _in_range(factory, "PCA's output dimension", int(match[1]), (1, dim))
    if match := _RR.fullmatch(part):
        return _in_range(factory, "RR's output dimension", int(match[1]), (1, MAX_DIM))
    if match := _OPQ.fullmatch(part):
        out = dim if match[2] is None else _in_range(factory, "OPQ's output dimension", int(match[2]), (1, MAX_DIM))
        if not 1 <= int(match[1]) <= out or out % int(match[1]):
            _refuse(factory, f"OPQ's M={match[1]} must divide its output dimension {out}")
        return out
    return None


def _code(factory: str, part: str, dim: int) -> None:
    if part == "Flat" or _SQ.fullmatch(part):
        return
    if match := _PQ.fullmatch(part):
        _pq(factory, match, dim)
        return
    _refuse(factory, f"{part!r} is not a supported IVF code (Flat, PQ<m>[x<b>][np], SQ4|6|8|fp16|bf16)")


def _pq(factory: str, match: re.Match[str], dim: int) -> None:
    m = int(match[1])
    if not 1 <= m <= dim or dim % m:
        _refuse(factory, f"PQ's m={m} must divide the dimension {dim}")
    if match[2] is not None:
        _in_range(factory, "PQ's bits per code", int(match[2]), PQ_BITS)


def _in_range(factory: str, what: str, value: int, bounds: tuple[int, int]) -> int:
    low, high = bounds
    if not low <= value <= high:
        _refuse(factory, f"{what} is {value}; it must be from {low} to {high}")
    return value


def _refuse(factory: str, why: str) -> NoReturn:
    shown = factory if len(factory) <= 80 else factory[:77] + "..."
    raise InvalidFactoryError(f"bad Faiss factory string {shown!r}: {why}")
