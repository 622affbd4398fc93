"""Composer's version rules, ported from composer/semver 3.x to pure Python.

WordPress.org plugin tags are raw SVN tag names. The registry must publish exactly the
versions Composer accepts, normalised exactly as Composer normalises them, so this module is a
line-by-line port of ``Composer\\Semver\\VersionParser`` (``normalize``, ``normalizeBranch``,
``parseStability``, ``parseConstraints``), of ``Comparator`` and of PHP's ``version_compare``.
``tests/composer/test_versions_differential.py`` runs the real PHP code over every version key
of the recorded WordPress.org corpus plus generated edge cases and requires zero differences.

Faithfulness notes (PHP PCRE vs Python ``re``):

- every pattern is compiled with ``re.ASCII``: PHP's patterns carry no ``u`` flag, so ``\\d``,
  ``\\s`` (space, ``\\t \\n \\v \\f \\r``) and case-insensitive matching are ASCII-only;
- ``$`` means "end of subject, or before a final ``\\n``" in both engines (PCRE's newline is
  LF, so a trailing ``\\r`` is *not* skipped); ``.`` matches anything but ``\\n`` in both;
- PHP's ``trim`` strips ``" \\t\\n\\r\\0\\x0B"`` (not ``\\f``); ``strtolower``/``stripos``
  are ASCII-only since PHP 8.2;
- preg_match reports unmatched groups in the middle as ``""`` and drops trailing ones;
  the port keeps that distinction where the PHP code uses ``isset``;
- a lookbehind with alternatives of different lengths (allowed by PCRE) is written as several
  lookbehinds;
- ``version_compare`` works on bytes (UTF-8 here), stops at a NUL byte and saturates numbers at
  ``PHP_INT_MAX``, like PHP's C implementation.
"""

from __future__ import annotations

import functools
import math
import re
from dataclasses import dataclass
from typing import Final, Literal, TypeAlias

__all__ = [
    "Stability",
    "VersionKey",
    "compare",
    "is_valid_constraint",
    "normalize",
    "normalize_branch",
    "parse_constraints",
    "parse_stability",
    "php_requirement",
    "php_version_compare",
    "sort_key",
]

Stability: TypeAlias = Literal["stable", "RC", "beta", "alpha", "dev"]

# --------------------------------------------------------------------------------------------
# PHP string helpers

_PHP_TRIM: Final = " \t\n\r\0\x0b"
_ASCII_LOWER: Final = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")
_PHP_INT_MAX: Final = 2**63 - 1


def _lower(s: str) -> str:
    """PHP 8.2 ``strtolower``: ASCII letters only."""
    return s.translate(_ASCII_LOWER)


def _php_groups(m: re.Match[str]) -> list[str | None]:
    """The ``$matches`` array of ``preg_match``, as a list indexed like PHP's.

    Groups that did not take part in the match are ``""`` when a later group matched and are
    missing (``None`` here, ``isset() === false`` in PHP) when no later group matched.
    """
    groups = m.groups()
    last = len(groups)
    while last > 0 and groups[last - 1] is None:
        last -= 1
    out: list[str | None] = [m.group(0)]
    out.extend(g if g is not None else "" for g in groups[:last])
    out.extend(None for _ in groups[last:])
    return out


def _php_add(number: str, increment: int) -> str:
    """``(string) ($numericString + $increment)`` for a string of ASCII digits.

    PHP keeps an int while the value fits in 64 bits and otherwise switches to a float, which
    it prints with ``precision=14`` (``1.0E+20``, ``9.2233720368548E+18``, ``INF``).
    """
    value = int(number)
    if value <= _PHP_INT_MAX and value + increment <= _PHP_INT_MAX:
        return str(value + increment)
    as_float = (float(value) if value <= _PHP_INT_MAX else float(number)) + increment
    return _php_float_to_string(as_float)


def _php_float_to_string(value: float) -> str:
    """PHP's ``(string) $float`` (``zend_gcvt`` with 14 significant digits) for large values."""
    if math.isinf(value):
        return "INF" if value > 0 else "-INF"
    mantissa, exponent = f"{value:.13e}".split("e")
    whole, _, fraction = mantissa.partition(".")
    fraction = fraction.rstrip("0") or "0"
    exp = int(exponent)
    if exp < 15:  # pragma: no cover - only numbers beyond PHP_INT_MAX get here
        return repr(value)
    return f"{whole}.{fraction}E+{exp}"


# --------------------------------------------------------------------------------------------
# VersionParser regexes

_A: Final = re.ASCII
_AI: Final = re.ASCII | re.IGNORECASE

_MODIFIER: Final = r"[._-]?(?:(stable|beta|b|RC|alpha|a|patch|pl|p)((?:[.-]?\d+)*+)?)?([.-]?dev)?"
_STABILITIES: Final = "stable|RC|beta|alpha|dev"

_ALIAS_RE: Final = re.compile(r"^([^,\s]++) ++as ++([^,\s]++)$", _A)
_STABILITY_FLAG_RE: Final = re.compile(r"@(?:" + _STABILITIES + r")$", _AI)
_BUILD_METADATA_RE: Final = re.compile(r"^([^,\s+]++)\+[^\s]++$", _A)
_CLASSICAL_RE: Final = re.compile(
    r"^v?(\d{1,5})(\.\d++)?(\.\d++)?(\.\d++)?" + _MODIFIER + r"$", _AI
)
_DATE_RE: Final = re.compile(
    r"^v?(\d{4}(?:[.:-]?\d{2}){1,6}(?:[.:-]?\d{1,3})?)" + _MODIFIER + r"$", _AI
)
_NON_DIGIT_RE: Final = re.compile(r"\D", _A)
_DEV_SUFFIX_RE: Final = re.compile(r"(.*?)[.-]?dev$", _AI)
_BRANCH_RE: Final = re.compile(
    r"^v?(\d++)(\.(?:\d++|[xX*]))?(\.(?:\d++|[xX*]))?(\.(?:\d++|[xX*]))?$", _AI
)
_HASH_REF_RE: Final = re.compile(r"#.+$", _A)
_STABILITY_RE: Final = re.compile(_MODIFIER + r"(?:\+.*)?$", _AI)

_OR_SPLIT_RE: Final = re.compile(r"\s*\|\|?\s*", _A)
# PCRE: (?<!^|as|[=>< ,]) *(?<!-)[, ](?!-) *(?!,|as|$)
_AND_SPLIT_RE: Final = re.compile(r"(?<!^)(?<!as)(?<![=>< ,]) *(?<!-)[, ](?!-) *(?!,|as|$)", _A)
_CONSTRAINT_STABILITY_RE: Final = re.compile(r"^([^,\s]*?)@(" + _STABILITIES + r")$", _AI)
_CONSTRAINT_REF_RE: Final = re.compile(r"^(dev-[^,\s@]+?|[^,\s@]+?\.x-dev)#.+$", _AI)
_WILDCARD_RE: Final = re.compile(r"^(v)?[xX*](\.[xX*])*$", _AI)
_VERSION_RE: Final = (
    r"v?(\d++)(?:\.(\d++))?(?:\.(\d++))?(?:\.(\d++))?(?:"
    + _MODIFIER
    + r"|\.([xX*][.-]?dev))(?:\+[^\s]+)?"
)
_TILDE_RE: Final = re.compile(r"^~>?" + _VERSION_RE + r"$", _AI)
_CARET_RE: Final = re.compile(r"^\^" + _VERSION_RE + r"($)", _AI)
_X_RANGE_RE: Final = re.compile(r"^v?(\d++)(?:\.(\d++))?(?:\.(\d++))?(?:\.[xX*])++$", _A)
_HYPHEN_RE: Final = re.compile(
    r"^(?P<from>" + _VERSION_RE + r") +- +(?P<to>" + _VERSION_RE + r")($)", _AI
)
_BASIC_RE: Final = re.compile(r"^(<>|!=|>=?|<=?|==?)?\s*(.*)", _A)
_BRANCH_NAME_RE: Final = re.compile(r"^[0-9a-zA-Z./-]+$", _A)
_DASH_MODIFIER_RE: Final = re.compile(r"-" + _MODIFIER + r"$", _A)

_EXPANDED_STABILITY: Final = {"a": "alpha", "b": "beta", "p": "patch", "pl": "patch", "rc": "RC"}


def _expand_stability(stability: str) -> str:
    lowered = _lower(stability)
    return _EXPANDED_STABILITY.get(lowered, lowered)


# --------------------------------------------------------------------------------------------
# normalize / normalizeBranch / parseStability


@functools.lru_cache(maxsize=1 << 16)
def normalize(version: str) -> str | None:
    """``VersionParser::normalize($version)``; ``None`` where Composer throws.

    Not idempotent (``"2020-01-01"`` -> ``"2020.01.01"`` -> ``"2020.01.01.0"``): keep the raw
    tag and normalise it once. Results are cached (the corpus repeats tags across plugins).

    >>> normalize("v1.1.7"), normalize("1.4.0-RC1"), normalize("trunk"), normalize("stable")
    ('1.1.7.0', '1.4.0.0-RC1', 'dev-trunk', None)
    """
    version = version.strip(_PHP_TRIM)

    # strip off aliasing
    m = _ALIAS_RE.search(version)
    if m:
        version = m.group(1)

    # strip off stability flag
    m = _STABILITY_FLAG_RE.search(version)
    if m:
        version = version[: len(version) - len(m.group(0))]

    # normalize master/trunk/default branches to dev-name
    if version in ("master", "trunk", "default"):
        version = "dev-" + version

    # if requirement is branch-like, use full name
    if _lower(version[:4]) == "dev-":
        return "dev-" + version[4:]

    # strip off build metadata
    m = _BUILD_METADATA_RE.search(version)
    if m:
        version = m.group(1)

    index = 0
    matches = _CLASSICAL_RE.search(version)
    if matches:
        version = (
            matches.group(1)
            + (matches.group(2) or ".0")
            + (matches.group(3) or ".0")
            + (matches.group(4) or ".0")
        )
        index = 5
    else:
        matches = _DATE_RE.search(version)
        if matches:
            version = _NON_DIGIT_RE.sub(".", matches.group(1))
            index = 2

    if matches:
        stability = matches.group(index)
        if stability:
            if stability == "stable":
                return version
            number = matches.group(index + 1)
            version += "-" + _expand_stability(stability) + (number.lstrip(".-") if number else "")
        if matches.group(index + 2):
            version += "-dev"
        return version

    # match dev branches (the tail test only skips a search that cannot match: "dev$")
    tail = _lower(version[-4:])
    m = _DEV_SUFFIX_RE.search(version) if tail.endswith(("dev", "dev\n")) else None
    if m:
        normalized = normalize_branch(m.group(1))
        # a branch ending with -dev is only valid if it is numeric
        if "dev-" not in normalized:
            return normalized

    return None


def normalize_branch(name: str) -> str:
    """``VersionParser::normalizeBranch($name)``: ``1.x`` -> ``1.9999999.9999999.9999999-dev``."""
    name = name.strip(_PHP_TRIM)
    m = _BRANCH_RE.search(name)
    if m:
        groups = _php_groups(m)
        version = ""
        for i in range(1, 5):
            part = groups[i]
            version += part.replace("*", "x").replace("X", "x") if part is not None else ".x"
        return version.replace("x", "9999999") + "-dev"
    return "dev-" + name


def parse_stability(version: str) -> Stability:
    """``VersionParser::parseStability($version)``: stable, RC, beta, alpha or dev."""
    version = _HASH_REF_RE.sub("", version)
    if version.startswith("dev-") or version[-4:] == "-dev":
        return "dev"
    m = _STABILITY_RE.search(_lower(version))
    assert m is not None  # every part of the pattern is optional
    if m.group(3):
        return "dev"
    word = m.group(1)
    if word:
        if word in ("beta", "b"):
            return "beta"
        if word in ("alpha", "a"):
            return "alpha"
        if word == "rc":
            return "RC"
    return "stable"


# --------------------------------------------------------------------------------------------
# parseConstraints


class _InvalidConstraint(Exception):
    """Composer's ``UnexpectedValueException`` inside parseConstraint."""


@dataclass(frozen=True, slots=True)
class _Constraint:
    operator: str  # as written: = == < <= > >= <> !=
    version: str

    def __str__(self) -> str:
        op = {"=": "==", "<>": "!="}.get(self.operator, self.operator)
        return f"{op} {self.version}"


@dataclass(frozen=True, slots=True)
class _MatchAll:
    def __str__(self) -> str:
        return "*"


@dataclass(frozen=True, slots=True)
class _Multi:
    constraints: tuple[_Node, ...]
    conjunctive: bool

    def __str__(self) -> str:
        glue = " " if self.conjunctive else " || "
        return "[" + glue.join(str(c) for c in self.constraints) + "]"


_Node: TypeAlias = _Constraint | _MatchAll | _Multi


def _normalize_or_raise(version: str) -> str:
    normalized = normalize(version)
    if normalized is None:
        raise _InvalidConstraint(version)
    return normalized


def _manipulate(matches: list[str | None], position: int, increment: int = 0) -> str:
    """``VersionParser::manipulateVersionString`` (padding with ``'0'``)."""
    parts = list(matches[:5]) + [None] * (5 - len(matches[:5]))
    for i in range(4, 0, -1):
        if i > position:
            parts[i] = "0"
        elif i == position and increment:
            parts[i] = _php_add(parts[i] or "0", increment)
    return ".".join(p or "" for p in parts[1:5])


def _parse_constraint(constraint: str) -> list[_Node]:
    """``VersionParser::parseConstraint``; raises ``_InvalidConstraint`` where PHP throws."""
    m = _ALIAS_RE.search(constraint)
    if m:
        constraint = m.group(1)

    stability_modifier = ""
    m = _CONSTRAINT_STABILITY_RE.search(constraint)
    if m:
        constraint = m.group(1) if m.group(1) != "" else "*"
        if m.group(2) != "stable":
            stability_modifier = m.group(2)

    m = _CONSTRAINT_REF_RE.search(constraint)
    if m:
        constraint = m.group(1)

    m = _WILDCARD_RE.search(constraint)
    if m:
        if m.group(1) or m.group(2):
            return [_Constraint(">=", "0.0.0.0-dev")]
        return [_MatchAll()]

    # Tilde range
    m = _TILDE_RE.search(constraint)
    if m:
        if constraint.startswith("~>"):
            raise _InvalidConstraint('Invalid operator "~>"')
        g = _php_groups(m)
        position = 4 if g[4] else 3 if g[3] else 2 if g[2] else 1
        if g[8]:
            position += 1
        suffix = "-dev" if not g[5] and not g[7] and not g[8] else ""
        low = _normalize_or_raise((constraint + suffix)[1:])
        high = _manipulate(g, max(1, position - 1), 1) + "-dev"
        return [_Constraint(">=", low), _Constraint("<", high)]

    # Caret range
    m = _CARET_RE.search(constraint)
    if m:
        g = _php_groups(m)
        if g[1] != "0" or not g[2]:
            position = 1
        elif g[2] != "0" or not g[3]:
            position = 2
        else:
            position = 3
        suffix = "-dev" if not g[5] and not g[7] and not g[8] else ""
        low = _normalize_or_raise((constraint + suffix)[1:])
        high = _manipulate(g, position, 1) + "-dev"
        return [_Constraint(">=", low), _Constraint("<", high)]

    # X range
    m = _X_RANGE_RE.search(constraint)
    if m:
        g = _php_groups(m)
        position = 3 if g[3] else 2 if g[2] else 1
        low = _manipulate(g, position) + "-dev"
        high = _manipulate(g, position, 1) + "-dev"
        if low == "0.0.0.0-dev":
            return [_Constraint("<", high)]
        return [_Constraint(">=", low), _Constraint("<", high)]

    # Hyphen range
    m = _HYPHEN_RE.search(constraint)
    if m:
        g = _php_groups(m)
        low_suffix = "-dev" if not g[6] and not g[8] and not g[9] else ""
        lower = _Constraint(">=", _normalize_or_raise(m.group("from")) + low_suffix)
        if (g[12] and g[13]) or g[15] or g[17] or g[18]:
            upper = _Constraint("<=", _normalize_or_raise(m.group("to")))
        else:
            _normalize_or_raise(m.group("to"))
            high_match: list[str | None] = ["", g[11], g[12], g[13], g[14]]
            high = _manipulate(high_match, 2 if g[12] else 1, 1) + "-dev"
            upper = _Constraint("<", high)
        return [lower, upper]

    # Basic comparators (the pattern always matches)
    m = _BASIC_RE.search(constraint)
    assert m is not None
    operator, rest = m.group(1) or "", m.group(2)
    version = normalize(rest)
    if version is None:
        # recover from an invalid constraint like foobar-dev which should be dev-foobar
        if rest[-4:] == "-dev" and _BRANCH_NAME_RE.search(rest):
            version = _normalize_or_raise("dev-" + rest[:-4])
        else:
            raise _InvalidConstraint(constraint)
    op = operator or "="
    if op not in ("==", "=") and stability_modifier and parse_stability(version) == "stable":
        version += "-" + stability_modifier
    elif (
        op in ("<", ">=")
        and not _DASH_MODIFIER_RE.search(_lower(rest))
        and not rest.startswith("dev-")
    ):
        version += "-dev"
    return [_Constraint(op, version)]


def _optimize_disjunction(constraints: list[_Node]) -> list[_Node] | None:
    """``MultiConstraint::optimizeConstraints`` for an OR list: merge touching ranges."""
    left = constraints[0]
    merged: list[_Node] = []
    optimized = False
    for right in constraints[1:]:
        if (
            isinstance(left, _Multi)
            and left.conjunctive
            and isinstance(right, _Multi)
            and right.conjunctive
            and len(left.constraints) == 2
            and len(right.constraints) == 2
            and str(left.constraints[0]).startswith(">=")
            and str(left.constraints[1]).startswith("<")
            and str(right.constraints[0]).startswith(">=")
            and str(right.constraints[1]).startswith("<")
            and str(left.constraints[1])[2:] == str(right.constraints[0])[3:]
        ):
            optimized = True
            left = _Multi((left.constraints[0], right.constraints[1]), True)
        else:
            merged.append(left)
            left = right
    if not optimized:
        return None
    merged.append(left)
    return merged


def _parse_constraints(constraints: str) -> _Node:
    or_groups: list[_Node] = []
    for or_constraint in _OR_SPLIT_RE.split(constraints.strip(_PHP_TRIM)):
        and_constraints = _AND_SPLIT_RE.split(or_constraint)
        objects: list[_Node] = []
        for and_constraint in and_constraints:
            objects.extend(_parse_constraint(and_constraint))
        or_groups.append(objects[0] if len(objects) == 1 else _Multi(tuple(objects), True))
    if len(or_groups) == 1:
        return or_groups[0]
    optimized = _optimize_disjunction(or_groups)
    if optimized is not None:
        if len(optimized) == 1:
            return optimized[0]
        or_groups = optimized
    return _Multi(tuple(or_groups), False)


def parse_constraints(constraints: str) -> str | None:
    """Composer's string form of ``VersionParser::parseConstraints($constraints)``.

    ``None`` where Composer throws. The string is ``(string) $constraint`` in PHP, e.g.
    ``parse_constraints(">=7.4") == ">= 7.4.0.0-dev"`` and
    ``parse_constraints("^1.2 || ^2") == "[[>= 1.2.0.0-dev < 2.0.0.0-dev] || ..."``.
    """
    try:
        return str(_parse_constraints(constraints))
    except _InvalidConstraint:
        return None


def is_valid_constraint(constraint: str) -> bool:
    """Whether ``VersionParser::parseConstraints($constraint)`` accepts the string."""
    try:
        _parse_constraints(constraint)
    except _InvalidConstraint:
        return False
    return True


# --------------------------------------------------------------------------------------------
# WordPress "Requires PHP" -> Composer constraint

_REQUIRES_PHP_RE: Final = re.compile(
    r"""^(?:php\s*)?                     # an optional "PHP" label
        (?P<op>>=|=>|>)?\s*              # an optional minimum operator
        v?(?P<version>\d+(?:\.\d+){0,3}) # 1 to 4 numeric parts
        (?:\.[x*])*                      # an optional wildcard tail: 7.x, 7.4.*
        \s*(?:\+|or\s+(?:later|higher|newer|above|greater)|and\s+(?:up|above|later|higher))?$
    """,
    re.ASCII | re.IGNORECASE | re.VERBOSE,
)


def php_requirement(requires_php: str | bool | None) -> str | None:
    """The Composer constraint on ``php`` for a WordPress ``Requires PHP`` value, or ``None``.

    WordPress treats the header as a minimum (``version_compare(PHP_VERSION, $value, '>=')``),
    so a plain version becomes ``>=`` that version: ``"7.4"`` -> ``">=7.4"``,
    ``"5.6.20"`` -> ``">=5.6.20"``. Also accepted, because their meaning is unambiguous:
    a leading ``>=``/``=>`` (emitted as ``>=``) or ``>`` (kept), a ``PHP`` label, a ``v``
    prefix, a wildcard tail (``7.x`` -> ``>=7``) and an "or later" marker (``7.0+``,
    ``7.4 or higher`` -> ``>=7.0``/``>=7.4``). The version keeps its numeric parts as written.

    Anything else (``false``, empty, upper bounds, ranges, Composer syntax such as ``^7.4``,
    prose, pre-release or five-part versions, ``7,4``) yields ``None``: the package gets no
    ``php`` requirement, and the caller should report the value. For operator-led values and
    prose that is mostly what WordPress enforces too (``version_compare`` ranks ``>=7.4`` or
    ``PHP 7.4`` below every PHP version, so the check always passes). All 8,390 string
    values in the 2024 corpus are plain versions. Every returned string is accepted by
    :func:`is_valid_constraint`.
    """
    if not isinstance(requires_php, str):
        return None
    value = requires_php.strip()
    m = _REQUIRES_PHP_RE.match(value)
    if m is None:
        return None
    op = ">" if m.group("op") == ">" else ">="
    constraint = op + m.group("version")
    return constraint if is_valid_constraint(constraint) else None


# --------------------------------------------------------------------------------------------
# version_compare / Comparator / sorting

_DIGITS: Final = frozenset(b"0123456789")
_ALNUM: Final = frozenset(b"0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")
_SPECIAL_VERSION: Final = frozenset(b"-_+")
_SPECIAL_FORMS: Final = (
    (b"dev", 0),
    (b"alpha", 1),
    (b"a", 1),
    (b"beta", 2),
    (b"b", 2),
    (b"RC", 3),
    (b"rc", 3),
    (b"#", 4),
    (b"pl", 5),
    (b"p", 5),
)
_DOT: Final = ord(".")


def _canonicalize(version: bytes) -> bytes:
    """``php_canonicalize_version``: separators to ``.``, a ``.`` between digits and letters."""
    if not version:
        return b""
    out = bytearray(version[:1])
    last = version[0]
    for c in version[1:]:
        prev_out = out[-1]
        c_digit = c in _DIGITS
        last_digit = last in _DIGITS
        if c in _SPECIAL_VERSION:
            if prev_out != _DOT:
                out.append(_DOT)
        elif (not last_digit and last != _DOT and c_digit) or (
            last_digit and not c_digit and c != _DOT
        ):
            if prev_out != _DOT:
                out.append(_DOT)
            out.append(c)
        elif c not in _ALNUM:
            if prev_out != _DOT:
                out.append(_DOT)
        else:
            out.append(c)
        last = c
    return bytes(out)


def _special_form_order(form: bytes) -> int:
    for name, order in _SPECIAL_FORMS:
        if form.startswith(name):
            return order
    return -1


def _sign(x: int, y: int) -> int:
    return (x > y) - (x < y)


_LEADING_DIGITS_RE: Final = re.compile(rb"[0-9]+")


def _strtol(part: bytes) -> int:
    """C ``strtol(part, NULL, 10)`` for a part starting with a digit (saturating)."""
    m = _LEADING_DIGITS_RE.match(part)
    assert m is not None
    return min(int(m.group(0)), _PHP_INT_MAX)


def _version_compare_bytes(v1: bytes, v2: bytes) -> int:
    """``php_version_compare`` from ext/standard/versioning.c, on NUL-free byte strings."""
    if not v1 or not v2:
        if not v1 and not v2:
            return 0
        return 1 if v1 else -1
    s1 = v1 if v1[0] == ord("#") else _canonicalize(v1)
    s2 = v2 if v2[0] == ord("#") else _canonicalize(v2)
    p1 = p2 = 0
    n1: int | None = 0
    n2: int | None = 0
    compare = 0
    while p1 < len(s1) and p2 < len(s2) and n1 is not None and n2 is not None:
        dot1 = s1.find(b".", p1)
        dot2 = s2.find(b".", p2)
        n1 = dot1 if dot1 >= 0 else None
        n2 = dot2 if dot2 >= 0 else None
        part1 = s1[p1 : dot1 if dot1 >= 0 else len(s1)]
        part2 = s2[p2 : dot2 if dot2 >= 0 else len(s2)]
        digit1 = bool(part1) and part1[0] in _DIGITS
        digit2 = bool(part2) and part2[0] in _DIGITS
        if digit1 and digit2:
            compare = _sign(_strtol(part1), _strtol(part2))
        elif not digit1 and not digit2:
            compare = _sign(_special_form_order(part1), _special_form_order(part2))
        elif digit1:  # a number ranks as the special form "#"
            compare = _sign(4, _special_form_order(part2))
        else:
            compare = _sign(_special_form_order(part1), 4)
        if compare != 0:
            break
        if n1 is not None:
            p1 = n1 + 1
        if n2 is not None:
            p2 = n2 + 1
    if compare == 0:
        if n1 is not None:
            if p1 < len(s1) and s1[p1] in _DIGITS:
                compare = 1
            else:
                compare = _version_compare_bytes(s1[p1:], b"#N#")
        elif n2 is not None:
            if p2 < len(s2) and s2[p2] in _DIGITS:
                compare = -1
            else:
                compare = _version_compare_bytes(b"#N#", s2[p2:])
    return compare


def _php_bytes(s: str) -> bytes:
    """The bytes PHP's C functions see: UTF-8, cut at the first NUL."""
    return s.encode("utf-8", "surrogateescape").split(b"\0", 1)[0]


def php_version_compare(version1: str, version2: str) -> int:
    """PHP's ``version_compare($version1, $version2)``: -1, 0 or 1, for any two strings."""
    return _version_compare_bytes(_php_bytes(version1), _php_bytes(version2))


def compare(a: str, b: str) -> int:
    """Order two normalised versions as Composer does: -1, 0 or 1.

    This is ``Comparator::lessThan/equalTo/greaterThan``: PHP ``version_compare`` on the
    normalised strings (so ``1.0.0.0-dev < -alpha1 < -beta1 < -RC1 < 1.0.0.0 < -patch1``, and
    ``1.01.0.0 == 1.1.0.0``), and every ``dev-`` branch below every numbered version.
    Composer leaves two different ``dev-`` branches unordered (neither less, greater nor
    equal); here they are ordered by name so that sorting is deterministic.
    Composer's ``Semver::sort`` additionally reads ``dev-master``/``dev-trunk``/``dev-default``
    as ``9999999-dev``; that mapping is the caller's choice and is not applied here.
    """
    if a == b:
        return 0
    a_branch, b_branch = a.startswith("dev-"), b.startswith("dev-")
    if a_branch and b_branch:
        return -1 if a < b else 1
    return php_version_compare(a, b)


VersionKey: TypeAlias = tuple[int, tuple[tuple[int, int], ...], str]

_KEY_END: Final = (4, -1)


# The shape of every numbered version normalize() returns (classical, date-like, or a numeric
# branch such as 1.2.9999999.9999999-dev), and its version_compare parts.
_NORMALIZED_NUMBERED_RE: Final = re.compile(
    r"\d+(?:\.\d+)*(?:-(?:alpha|beta|RC|patch|stable)(?:\d+(?:[.-]\d+)*)?)?(?:-dev)?", _A
)
_NORMALIZED_PART_RE: Final = re.compile(r"\d+|[A-Za-z]+", _A)
_WORD_ORDER: Final = {"dev": 0, "alpha": 1, "beta": 2, "RC": 3, "patch": 5, "stable": -1}


@functools.lru_cache(maxsize=1 << 16)
def sort_key(normalized: str) -> VersionKey:
    """A key for ``sorted()`` that orders normalised versions exactly like :func:`compare`.

    Versions that ``compare`` calls equal get equal keys, so a stable sort keeps their input
    order. For the registry's newest-first lists use ``sorted(vs, key=sort_key, reverse=True)``.
    Each numbered version maps to its ``version_compare`` parts (numbers rank as the special
    form ``#``, between ``RC`` and ``patch``) plus an end marker that ranks like ``#`` too but
    below every number; branches come first, by name.

    Defined for what :func:`normalize` returns; raises ``ValueError`` for anything else.
    """
    if normalized.startswith("dev-"):
        return (0, (), normalized)
    if not _NORMALIZED_NUMBERED_RE.fullmatch(normalized):
        raise ValueError(f"not a normalised version: {normalized!r}")
    parts = tuple(
        (4, min(int(part), _PHP_INT_MAX)) if part[0] in "0123456789" else (_WORD_ORDER[part], 0)
        for part in _NORMALIZED_PART_RE.findall(normalized)
    )
    return (1, (*parts, _KEY_END), "")
