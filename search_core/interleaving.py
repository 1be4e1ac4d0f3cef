"""Team-draft interleaving: merge two rankers' result lists into one, remembering who contributed what.

Method: Radlinski, Kurup & Joachims (2008), "How does clickthrough data reflect retrieval quality?"
(CIKM '08, section 5.2, algorithm 2). Two teams pick players in turn: whichever team has fewer results
in the merged list picks next, and when both have as many a coin flip decides; a team always picks its
highest-ranked result not yet shown. A result both rankers return is therefore credited to the team that
picked it first and skipped by the other. Each click later credits the team of the clicked result, and
because the coin decides who picks first in every round, neither ranker owns the top position: an A/A
comparison (one ranker on both teams) shows no preference whatever the users' position bias.

Where the paper stops once either list is used up, we keep filling from the other list (credited to
that team) until k results are shown or both lists are used up: the user sees a full page, and a ranker
that returns fewer results has simply offered nothing for those positions.

The coin flips are a pure function of the seed (the request id), so replaying a request reproduces the
list and its teams on any machine. Scheme v1: flip i is bit i (most significant first) of the
concatenated blocks SHA-256(`"vsx.team-draft.v1.{seed}.{block}"`), block = 0, 1, …; never Python's
`hash()`, which is salted per process. At most ⌈k/2⌉ flips are used (one per round).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from hashlib import sha256
from itertools import count
from typing import Literal, cast

from search_core.errors import InterleavingInputError

Team = Literal["A", "B"]

_SCHEME = b"vsx.team-draft.v1."


@dataclass(frozen=True)
class InterleavedItem:
    """One shown result, in display order: which team contributed it and its 1-based rank in that team's list."""

    image_id: str
    team: Team
    source_rank: int


def coin_flips(seed: str | bytes) -> Iterator[bool]:
    """The endless, reproducible coin flips of one request (True: team A picks first in that round).

    The seed is checked here, not at the first flip, so a bad one fails even when no coin is needed.
    """
    if isinstance(seed, str):
        return _flips(seed.encode())
    if isinstance(seed, bytes):
        return _flips(seed)
    raise InterleavingInputError(f"interleaving seed must be str or bytes, got {type(seed).__name__}")


def _flips(key: bytes) -> Iterator[bool]:
    for block in count():
        for byte in sha256(_SCHEME + key + b"." + str(block).encode()).digest():
            for shift in range(7, -1, -1):
                yield bool((byte >> shift) & 1)


class _Cursor:
    """A team's position in its own ranking: the next result not yet shown, by 0-based index."""

    def __init__(self, ranking: Sequence[str]) -> None:
        self.ranking = ranking
        self.index = 0

    def next_unshown(self, shown: set[str]) -> int | None:
        """Skip results already shown (picked by the other team, or a duplicate in this list)."""
        while self.index < len(self.ranking) and self.ranking[self.index] in shown:
            self.index += 1
        return self.index if self.index < len(self.ranking) else None


def team_draft(
    ranking_a: Sequence[str], ranking_b: Sequence[str], k: int, coins: Iterable[bool]
) -> list[InterleavedItem]:
    """Team-draft merge of two rankings (best first) into at most k results, with explicit coin flips.

    A coin is consumed only when both teams have picked equally often and both still have results, so
    the same flips always give the same list. `team_draft_interleave` is this with the request's flips;
    simulations pass their own to enumerate every possible merge.
    """
    if isinstance(k, bool) or not isinstance(k, int) or k < 0:
        raise InterleavingInputError(f"k must be a non-negative int, got {k!r}")
    flips = iter(coins)
    cursors = {"A": _Cursor(ranking_a), "B": _Cursor(ranking_b)}
    picks: dict[Team, int] = {"A": 0, "B": 0}
    shown: set[str] = set()
    merged: list[InterleavedItem] = []
    while len(merged) < k:
        index_a, index_b = cursors["A"].next_unshown(shown), cursors["B"].next_unshown(shown)
        if index_a is None and index_b is None:
            break
        if index_b is None:
            team: Team = "A"
        elif index_a is None:
            team = "B"
        elif picks["A"] != picks["B"]:
            team = "A" if picks["A"] < picks["B"] else "B"
        else:
            team = "A" if next(flips) else "B"
        index = cast(int, index_a if team == "A" else index_b)  # the team that picks has a result left
        image_id = cursors[team].ranking[index]
        merged.append(InterleavedItem(image_id, team, index + 1))
        shown.add(image_id)
        picks[team] += 1
    return merged


def team_draft_interleave(
    ranking_a: Sequence[str], ranking_b: Sequence[str], k: int, seed: str | bytes
) -> list[InterleavedItem]:
    """Merge two rankers' results (best first) into the k results to show, coin flips seeded by the request id.

    The result is a duplicate-free prefix of length min(k, |union|) of a merge of both lists; the items of
    each team appear in that team's own relative order. Same seed and lists → same list and teams.
    """
    return team_draft(ranking_a, ranking_b, k, coin_flips(seed))
