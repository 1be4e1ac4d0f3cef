from dashboards.notes import method_notes


def test_notes_name_each_method_correction_srm_and_source(results):
    notes = {n.title: n.text for n in method_notes(results)}
    assert list(notes) == ["Welch's t-test, delta method", "CUPED", "Multiple comparisons", "Guardrails",
                           "Sample-ratio check", "Data source"]  # fmt: skip
    assert "Variance reduction achieved: CTR 23.4% (treatment_a), 22.9% (treatment_b)." in notes["CUPED"]
    assert "p=0.410, passed" in notes["Sample-ratio check"]


def test_sequential_and_bh_are_described(results):
    sequential = results.results[0].model_copy(update={"method": "sequential"})
    results = results.model_copy(update={"results": [sequential], "correction": "bh", "source": "", "guardrails": []})
    notes = {n.title: n.text for n in method_notes(results)}
    assert list(notes) == ["Sequential test", "Multiple comparisons", "Sample-ratio check"]
    assert "always-valid" in notes["Sequential test"]
    assert "Benjamini–Hochberg (controls the false discovery rate)" in notes["Multiple comparisons"]


def test_an_unchecked_split_gets_no_sample_ratio_note(results):
    unchecked = results.srm.model_copy(update={"p_value": None, "checked": False})
    notes = {n.title for n in method_notes(results.model_copy(update={"srm": unchecked}))}
    assert "Sample-ratio check" not in notes
