"""`Hits`: one query's results as two lists, behaving as the list of `Hit`s it stands for."""

from __future__ import annotations

import pickle

import pytest

from search_core.hits import Hit, Hits

hits = Hits(["a", "b", "c"], [0.9, 0.5, 0.1])
as_list = [Hit("a", 0.9), Hit("b", 0.5), Hit("c", 0.1)]


def test_hits_read_as_a_sequence_of_hit() -> None:
    assert list(hits) == as_list and len(hits) == 3
    assert hits[0] == Hit("a", 0.9) and hits[-1].image_id == "c"
    assert hits[1:] == as_list[1:] and isinstance(hits[1:], Hits)
    assert Hit("b", 0.5) in hits and hits.index(Hit("c", 0.1)) == 2
    with pytest.raises(IndexError):
        hits[3]


def test_hits_equal_the_same_hits_in_any_sequence_and_nothing_else() -> None:
    assert hits == as_list and hits == tuple(as_list) and hits == Hits(list(hits.ids), list(hits.scores))
    assert hits != as_list[:2] and hits != Hits(["a", "b", "c"], [0.9, 0.5, 0.2])
    assert hits != "abc" and Hits([], []) == []
    assert repr(Hits(["a"], [1.0])) == "Hits([Hit(image_id='a', score=1.0)])"


def test_hits_pickle_as_their_lists() -> None:
    """Serving pickles deferred search events (hits included) down a pipe to its event process."""
    again = pickle.loads(pickle.dumps(hits))
    assert again == hits and again.ids == hits.ids and again.scores == hits.scores
