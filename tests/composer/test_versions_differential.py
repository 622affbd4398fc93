"""Differential tests: the Python port against Composer's real PHP code, zero differences.

Inputs: every ``versions`` key of the recorded WordPress.org corpus (and every ``version``,
``stable_tag`` and ``requires_php`` value), plus generated edge cases. All questions go to ONE
PHP process (``oracle.php``) and the answers are compared with :mod:`curator.composer`.
If PHP or composer/semver is missing the tests fail with a pointer to ``scripts/setup``.
"""

from __future__ import annotations

import itertools
import random
import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import orjson
import pytest
from click.testing import CliRunner

from curator.cli.versions_cmd import versions as versions_cli
from curator.composer import (
    compare,
    is_valid_constraint,
    normalize,
    normalize_branch,
    parse_constraints,
    parse_stability,
    php_requirement,
    php_version_compare,
    sort_key,
)
from curator.composer.versions import VersionKey

pytestmark = pytest.mark.slow

SEED = 20240416

# Building blocks for generated strings: digits of every length, separators, every stability
# word in several cases, whitespace and control characters, non-ASCII digits and letters that
# case-fold to ASCII in Unicode (Kelvin sign, dotless i), operators and Composer syntax.
TOKENS: tuple[str, ...] = (
    "0", "1", "2", "9", "10", "00", "01", "007", "99999", "100000", "123456", "2020", "2024",
    "20200101", "202401011230", "9999999", "99999999999999999999", "9223372036854775807",
    "9223372036854775808", "1" * 40,
    ".", ".", ".", "-", "-", "_", "+", " ", "  ", ":", "/", "@", "#", ",",
    "v", "V", "beta", "BETA", "Beta", "b", "B", "RC", "rc", "Rc", "alpha", "ALPHA", "a", "A",
    "patch", "PATCH", "pl", "PL", "p", "P", "dev", "DEV", "Dev", "stable", "Stable", "STABLE",
    "x", "X", "*", "as", " as ", "master", "trunk", "default", "dev-", "release-", "version ",
    "\r", "\n", "\t", "\x0b", "\x0c", "\x00", "\x85", "\xa0",
    "٣", "१", "１", "é", "ß", "\u212a", "ı", "İ", "ſ", "😀",
    "~", "^", ">=", "<", "<=", ">", "!=", "<>", "==", "=", "|", "||",
)  # fmt: skip

DEFAULT_BRANCHES = ("dev-master", "dev-trunk", "dev-default")
STABILITY_WORDS = ("", "", "", "beta", "b", "RC", "rc", "alpha", "a", "patch", "pl", "p", "stable")


def generated_versions(count: int, rng: random.Random) -> list[str]:
    """Random mixes of the tokens above, plus near-valid versions built from a template."""
    out: list[str] = []
    for _ in range(count):
        out.append("".join(rng.choice(TOKENS) for _ in range(rng.randint(1, 8))))
    for _ in range(count):
        parts = [str(rng.choice((0, 1, 2, 10, 99999, 123456, 20200101, 10**25)))]
        parts += [rng.choice(("0", "1", "01", "12", "999999")) for _ in range(rng.randint(0, 5))]
        version = rng.choice(("", "", "v", "V")) + rng.choice((".", ".", "-", ":")).join(parts)
        word = rng.choice(STABILITY_WORDS)
        if word:
            version += rng.choice(("", "-", ".", "_")) + word.upper() * rng.randint(0, 1) + word
            version += rng.choice(("", "1", "2.3", "-4", ".5-6", "01"))
        version += rng.choice(("", "", "-dev", ".dev", "dev", "-DEV", ".x-dev", ".*", "-x"))
        version += rng.choice(("", "", "", "+build.1", "+", "@dev", "@beta", "#ref", " as 1.0"))
        version = rng.choice(("", "", "", " ", "\r", "dev-")) + version
        version += rng.choice(("", "", "", " ", "\r", "\n", "."))
        out.append(version)
    out += [
        "", " ", "\r", "v", "dev", "dev-", "-dev", ".dev", "x-dev", "1.x-dev", "v1.x-dev",
        "1.*.*-dev", "1.2.3.4.5", "1.0.0.0.0-dev", "00000", "000000", "99999.1", "100000.1",
        "1.0-stable", "1.0stable1", "1.0-STABLE2-dev", "1.0-beta.1.2-3", "1.0.RC.1",
        "2020.01.01", "2020-01-01", "2020:01:01:12:30:59.999", "2020.1.1", "20200101.1",
        "1.0 as 2.0", "1.0  as  2.0 ", "dev-foo as 1.0", "1.0@dev", "1.0@DEV", "master@dev",
        "1.0\n@dev", "1.0\r@dev", "foo\n1.0-dev", "1.0\n", "\n1.0", "1.0\x00", "DEV-Foo",
        "Dev-master", "default", "trunk ", " master", "1.0+", "1.0+ab cd", "1.0+a+b",
        "1.0-p1", "1.0-pl2", "1.0-patch3", "1.0a", "1.0b", "1.0-a-dev", "1.0.0.0-dev",
        "02.2003310000-WP5.3.2-WC3.9.2", "2.0.10.9.1\r", "1.0.7.", "release-1.1.0", "V1.0",
        "-1.8.0", "1.4.0-RC1", "3.1.0-dev1", "1.0.0 beta 2", "1.6 .1",
        "1" * 300, "9" * 400 + "-dev", "v" + "9" * 25 + ".x-dev", "1." + "0" * 200 + "1",
        "x" * 3000 + "dev", "1.0-beta" + "1" * 100, "20240101" + "0" * 11, "2024" + "01" * 7,
    ]  # fmt: skip
    return out


def generated_constraints(pool: Sequence[str], count: int, rng: random.Random) -> list[str]:
    """Constraints in every Composer syntax, mostly valid, often subtly broken."""
    ops = ("", "", "=", "==", ">", ">=", "<", "<=", "!=", "<>", "~", "~>", "^", "=>", "> ", ">= ")
    simple = (
        "1", "1.2", "1.2.3", "1.2.3.4", "0", "0.0", "0.1", "0.0.1", "v1.0", "1.0-beta1",
        "1.0-dev", "1.x-dev", "2.0.x-dev", "dev-master", "dev-foo", "foo-dev", "1.*", "1.x",
        "1.2.*", "*", "x", "X", "v*", "*.*", "1.0@dev", "1.0@beta", "@dev", "@stable",
        "dev-foo#abc123", "1.x-dev#abc", "1.0.0-RC2", "7.4", "5.6.20", "7.0+", "8.0.0-alpha",
        "99999999999999999999", "9223372036854775807", "1.0 as 2.0", "1.0+build",
        "0.0.0", "0.0", "^0.0.0", "1.2.3.x-dev", "1.0-STABLE", "1.0-stable",
    )  # fmt: skip
    joins = (" ", ",", ", ", " , ", " || ", "||", "|", " | ", " - ", "  ", " as ", ",,", "\n")
    out: list[str] = []
    for _ in range(count):
        n = rng.randint(1, 3)
        pieces = []
        for _ in range(n):
            version = rng.choice(simple) if rng.random() < 0.8 else rng.choice(pool)
            pieces.append(rng.choice(ops) + version)
        text = pieces[0]
        for piece in pieces[1:]:
            text += rng.choice(joins) + piece
        out.append(rng.choice(("", "", " ", "\r")) + text + rng.choice(("", "", " ", "\r")))
    for version in simple:
        for op in ops:
            out.append(op + version)
    out += [
        "", " ", "|", "||", ",", "1 ||", "|| 1", "1,", ",1", ">=1 <2", ">=1,<2", ">= 1 < 2",
        "~1 || ^2 || 3.*", ">=1.0 <1.1 || >=1.1 <1.2", "1.0 - 2.0", "1 - 2", "1.0.0 - 2.1",
        "v1 - v2", "1.0-beta - 2.0", "1 -2", "1- 2", "1 - 2 - 3", "^1.0@dev", ">=1.0@dev",
        "dev-master as 1.0", "1.0.x-dev as 1.0.0", "* as 1", "~>1.0", "~1.0>", ">1.0 as 2",
        "7.4 or higher", "PHP 7.4", ">= 7.4", "=>7.4", "7.x", "7.0.0+", "false", "true",
        "~" + "9" * 400, "^" + "9" * 400, "~1." + "9" * 30, "^0." + "9" * 19, "^0.0." + "9" * 19,
        "9223372036854775806.* ", "9223372036854775807.*", "1 - " + "9" * 30, "1 - 2." + "9" * 30,
    ]  # fmt: skip
    return out


@dataclass
class Differential:
    """Everything asked of the oracle, with its answers (one PHP process per test session)."""

    corpus_key_count: int
    corpus_counts: dict[str, int]
    normalize_inputs: list[str]
    normalize_answers: list[Any]
    branch_inputs: list[str]
    branch_answers: list[Any]
    stability_answers: list[Any]
    constraint_inputs: list[str]
    constraint_answers: list[Any]
    compare_pairs: list[tuple[str, str]]
    compare_answers: list[Any]
    raw_compare_pairs: list[tuple[str, str]]
    raw_compare_answers: list[Any]
    rsort_input: list[str]
    accepted: dict[str, str]
    rsort_answer: list[str]
    all_corpus_keys: list[str]
    oracle_seconds: float


def unique(values: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(values))


Oracle = Callable[[list[list[Any]]], list[Any]]


@pytest.fixture(scope="module")
def diff(composer_oracle: Oracle, wporg_corpus: Any) -> Differential:
    rng = random.Random(SEED)
    corpus = wporg_corpus
    generated = generated_versions(600, rng)
    normalize_inputs = unique(
        [
            *corpus.version_keys,
            *corpus.versions,
            *corpus.stable_tags,
            *corpus.requires_php,
            *generated,
        ]
    )
    branch_inputs = unique(
        [v for v in normalize_inputs if len(v) < 40][::7] + generated + ["1.*", " 2.X ", "v3.x"]
    )

    # Constraints: requires_php values, generated ones, and every unique version string.
    constraint_inputs = unique(
        [*corpus.requires_php, *generated_constraints(generated, 3000, rng), *normalize_inputs]
    )

    # Ordering: Semver::rsort sorts raw strings (it normalises them itself); compare() and
    # Comparator work on normalised strings. Composer's sort reads dev-master/trunk/default
    # as 9999999-dev, a mapping compare() leaves to the caller, so those stay out of the sort.
    accepted = {v: n for v in normalize_inputs if (n := normalize(v)) is not None}
    rsort_input = [v for v, n in accepted.items() if n not in DEFAULT_BRANCHES]
    rng.shuffle(rsort_input)
    normalized = unique(accepted.values())
    numbered = [v for v in normalized if not v.startswith("dev-")]
    branches = [v for v in normalized if v.startswith("dev-")]
    ordered = sorted(numbered, key=sort_key)
    compare_pairs = list(itertools.pairwise(ordered))  # neighbours decide sorting
    compare_pairs += [(rng.choice(normalized), rng.choice(normalized)) for _ in range(20000)]
    compare_pairs += [(b, rng.choice(numbered)) for b in branches[:300]]
    compare_pairs += [(rng.choice(numbered), b) for b in branches[:300]]
    compare_pairs += list(itertools.pairwise(branches[:300]))
    raw_compare_pairs = [(rng.choice(generated), rng.choice(generated)) for _ in range(10000)]
    raw_compare_pairs += [
        (rng.choice(normalize_inputs), rng.choice(generated)) for _ in range(5000)
    ]

    requests: list[list[Any]] = [["info"]]
    requests += [["n", v] for v in normalize_inputs]
    requests += [["nb", v] for v in branch_inputs]
    requests += [["s", v] for v in normalize_inputs]
    requests += [["c", c] for c in constraint_inputs]
    requests += [["cmp", a, b] for a, b in compare_pairs]
    requests += [["vc", a, b] for a, b in raw_compare_pairs]
    requests += [["rsort", rsort_input]]

    started = time.perf_counter()
    answers = composer_oracle(requests)
    oracle_seconds = time.perf_counter() - started

    answers = answers[1:]
    cuts: list[int] = []
    for size in (
        len(normalize_inputs),
        len(branch_inputs),
        len(normalize_inputs),
        len(constraint_inputs),
        len(compare_pairs),
        len(raw_compare_pairs),
    ):
        cuts.append((cuts[-1] if cuts else 0) + size)
    return Differential(
        corpus_key_count=len(corpus.version_keys),
        corpus_counts={
            "records": corpus.records,
            "version_keys": len(corpus.version_keys),
            "unique_version_keys": len(set(corpus.version_keys)),
            "versions": len(corpus.versions),
            "stable_tags": len(corpus.stable_tags),
            "requires_php": len(corpus.requires_php),
        },
        normalize_inputs=normalize_inputs,
        normalize_answers=answers[: cuts[0]],
        branch_inputs=branch_inputs,
        branch_answers=answers[cuts[0] : cuts[1]],
        stability_answers=answers[cuts[1] : cuts[2]],
        constraint_inputs=constraint_inputs,
        constraint_answers=answers[cuts[2] : cuts[3]],
        compare_pairs=compare_pairs,
        compare_answers=answers[cuts[3] : cuts[4]],
        raw_compare_pairs=raw_compare_pairs,
        raw_compare_answers=answers[cuts[4] : cuts[5]],
        rsort_input=rsort_input,
        accepted=accepted,
        rsort_answer=answers[cuts[5]],
        all_corpus_keys=corpus.version_keys,
        oracle_seconds=oracle_seconds,
    )


def assert_no_differences(label: str, differences: list[Any], compared: int) -> None:
    shown = "\n".join(repr(d) for d in differences[:25])
    assert not differences, (
        f"{label}: {len(differences)} of {compared} inputs differ from Composer, first:\n{shown}"
    )


def test_oracle_is_installed(require_composer_oracle: Callable[[], str]) -> None:
    """PHP and composer/semver must be present: the differential tests never skip."""
    require_composer_oracle()


def test_corpus_is_the_documented_one(diff: Differential) -> None:
    counts = diff.corpus_counts
    assert counts["records"] == 12227
    # 270,789 tag keys plus the 8,226 "trunk" keys.
    assert counts["version_keys"] == 270789 + 8226
    assert len(diff.normalize_inputs) > 24000


def test_normalize_matches_composer(diff: Differential) -> None:
    differences = [
        (v, expected, normalize(v))
        for v, expected in zip(diff.normalize_inputs, diff.normalize_answers, strict=True)
        if normalize(v) != expected
    ]
    assert_no_differences("normalize", differences, len(diff.normalize_inputs))


def test_corpus_rejections_are_the_known_kinds(diff: Differential) -> None:
    """Composer rejects a small, known share of the corpus keys (1,220 keys, 206 plugins)."""
    accepted = dict(zip(diff.normalize_inputs, diff.normalize_answers, strict=True))
    rejected = Counter(k for k in diff.all_corpus_keys if accepted[k] is None)
    assert (sum(rejected.values()), len(rejected)) == (1220, 1149)
    for tag in (
        "release-1.1.0", "2.0.10.9.1\r", "v 1.0.0", "1.0.0 beta 2", "-1.8.0", "stable",
        "1.0.39(1)", "2.1.3.10.1", "v.1.0.1", "3.1.0-dev1", "02.2003310000-WP5.3.2-WC3.9.2",
    ):  # fmt: skip
        assert rejected[tag] > 0, tag
    for tag, normalized in (
        ("1.1.3.", "1.1.3.0"), ("V1.0", "1.0.0.0"), ("v1.1.7", "1.1.7.0"),
        ("1.4.0-RC1", "1.4.0.0-RC1"), ("1.6.4.5dev", "1.6.4.5-dev"), ("trunk", "dev-trunk"),
    ):  # fmt: skip
        assert accepted[tag] == normalized


def test_normalize_branch_matches_composer(diff: Differential) -> None:
    differences = [
        (v, expected, normalize_branch(v))
        for v, expected in zip(diff.branch_inputs, diff.branch_answers, strict=True)
        if normalize_branch(v) != expected
    ]
    assert_no_differences("normalize_branch", differences, len(diff.branch_inputs))


def test_parse_stability_matches_composer(diff: Differential) -> None:
    differences = [
        (v, expected, parse_stability(v))
        for v, expected in zip(diff.normalize_inputs, diff.stability_answers, strict=True)
        if parse_stability(v) != expected
    ]
    assert_no_differences("parse_stability", differences, len(diff.normalize_inputs))


def test_constraints_match_composer(diff: Differential) -> None:
    differences = [
        (c, expected, parse_constraints(c))
        for c, expected in zip(diff.constraint_inputs, diff.constraint_answers, strict=True)
        if parse_constraints(c) != expected or is_valid_constraint(c) != (expected is not None)
    ]
    assert_no_differences("parse_constraints", differences, len(diff.constraint_inputs))
    valid = sum(a is not None for a in diff.constraint_answers)
    assert 0 < valid < len(diff.constraint_inputs)  # the inputs exercise both outcomes


def test_php_requirement_is_always_a_valid_constraint(
    diff: Differential, wporg_corpus: Any
) -> None:
    for value in diff.constraint_inputs:
        requirement = php_requirement(value)
        if requirement is not None:
            assert is_valid_constraint(requirement), (value, requirement)
    corpus = wporg_corpus
    assert all(php_requirement(v) == f">={v}" for v in corpus.requires_php)


def test_compare_matches_composer_comparator(diff: Differential) -> None:
    differences = []
    for (a, b), (lt, eq, gt) in zip(diff.compare_pairs, diff.compare_answers, strict=True):
        ours = compare(a, b)
        if a.startswith("dev-") and b.startswith("dev-"):
            # Composer leaves two different branches unordered; we order them by name.
            ok = not lt and not gt and eq == (a == b) and ours == (a > b) - (a < b)
        else:
            ok = (lt, eq, gt) == (ours < 0, ours == 0, ours > 0)
        key_a, key_b = sort_key(a), sort_key(b)
        ok = ok and ours == (key_a > key_b) - (key_a < key_b)  # sort_key agrees with compare
        if not ok:
            differences.append((a, b, [lt, eq, gt], ours))
    assert_no_differences("compare", differences, len(diff.compare_pairs))


def test_php_version_compare_matches_php(diff: Differential) -> None:
    differences = [
        (a, b, expected, php_version_compare(a, b))
        for (a, b), expected in zip(diff.raw_compare_pairs, diff.raw_compare_answers, strict=True)
        if php_version_compare(a, b) != expected
    ]
    assert_no_differences("version_compare", differences, len(diff.raw_compare_pairs))


def test_sort_order_matches_semver_rsort(diff: Differential) -> None:
    """Newest-first by ``sort_key(normalize(v))`` equals ``Semver::rsort`` of the raw strings.

    Composer's comparator gives no order to versions it deems equal (``1.01`` vs ``1.1``) nor
    to two branches, so positions are compared by equivalence class: the sort key, with every
    ``dev-`` branch in one class.
    """

    def key(raw: str) -> VersionKey:
        return sort_key(diff.accepted[raw])

    def cls(raw: str) -> VersionKey:
        k = key(raw)
        return (k[0], k[1], "") if k[0] == 0 else k

    ours = sorted(diff.rsort_input, key=key, reverse=True)
    assert sorted(diff.rsort_answer) == sorted(ours)
    theirs_cls = [cls(v) for v in diff.rsort_answer]
    ours_cls = [cls(v) for v in ours]
    first = next(
        (i for i, (x, y) in enumerate(zip(theirs_cls, ours_cls, strict=True)) if x != y), None
    )
    assert first is None, (
        f"order differs at {first}: Composer {diff.rsort_answer[first : first + 5]} "
        f"vs ours {ours[first : first + 5]}"
    )


def test_cli_matches_composer(diff: Differential) -> None:
    """``curator versions normalize`` over every corpus key (and the rest), in one run."""
    expected = dict(zip(diff.normalize_inputs, diff.normalize_answers, strict=True))
    lines = [*diff.all_corpus_keys, *(v for v in diff.normalize_inputs if "\n" not in v)]
    payload = "".join(line + "\n" for line in lines).encode("utf-8")
    started = time.perf_counter()
    result = CliRunner().invoke(versions_cli, ["normalize"], input=payload)
    seconds = time.perf_counter() - started
    assert result.exit_code == 0, result.output
    out_lines = result.stdout_bytes.split(b"\n")
    assert out_lines[-1] == b""
    rows = [orjson.loads(line) for line in out_lines[:-1]]
    assert len(rows) == len(lines)
    differences = [
        (line, row, expected[line])
        for line, row in zip(lines, rows, strict=True)
        if row != [line, expected[line]]
    ]
    assert_no_differences("cli", differences, len(lines))
    assert seconds < 10, f"CLI took {seconds:.1f}s for {len(lines)} lines"
