from curator import canonical


def test_canonical_json_is_sorted_indented_utf8_with_newline() -> None:
    data = {"b": 1, "a": {"z": "é\r", "y": []}}
    out = canonical.dumps(data)
    assert out == '{\n  "a": {\n    "y": [],\n    "z": "é\\r"\n  },\n  "b": 1\n}\n'.encode()
    assert canonical.dumps(canonical.loads(out)) == out
