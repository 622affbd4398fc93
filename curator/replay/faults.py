"""Fault injection for the replay: configuration, the per-request decision and its tallies.

One uniform draw ``u`` in [0, 1) per request picks at most one fault, in this order:
``hang`` (``hang_rate``), ``error`` (``error_rate``: HTTP 500/502/503), ``rate_limit``
(``rate_limit_rate``: 429 + ``Retry-After``), ``malformed`` (``malformed_rate``: 200 with an
HTML page or a truncated JSON body). ``latency_ms`` delays every request in scope.

Normal mode draws from ``random.Random(seed)`` (deterministic for a fixed request order). Sticky
mode derives the draw from ``sha256(seed, key)`` (key = ``"<type>:<slug>"`` for the info API,
the path otherwise), so a slug that failed once fails on every retry and the failing set is a
pure function of the seed: :meth:`FaultInjector.sticky_fault` computes it without a request.

Scope ``"info"`` (default) faults only the info API routes; ``"all"`` adds the SVN listings,
the Trac logs and the downloads. The control API (``/_replay/...``) is never faulted.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields, replace
from typing import Any, Final, Literal

FaultKind = Literal["hang", "error", "rate_limit", "malformed"]
FAULT_KINDS: Final[tuple[FaultKind, ...]] = ("hang", "error", "rate_limit", "malformed")
ERROR_STATUSES: Final = (500, 502, 503)
Scope = Literal["info", "all"]


@dataclass(frozen=True, slots=True)
class FaultConfig:
    """What to inject. Rates are probabilities per request; their sum must not exceed 1."""

    latency_ms: float = 0.0
    error_rate: float = 0.0
    rate_limit_rate: float = 0.0
    retry_after: int = 1
    malformed_rate: float = 0.0
    hang_rate: float = 0.0
    hang_seconds: float = 3600.0
    seed: int = 0
    sticky: bool = False
    scope: Scope = "info"

    def __post_init__(self) -> None:
        rates = (self.error_rate, self.rate_limit_rate, self.malformed_rate, self.hang_rate)
        if any(r < 0 or r > 1 for r in rates):
            raise ValueError("fault rates must be between 0 and 1")
        if sum(rates) > 1 + 1e-9:
            raise ValueError("the fault rates add up to more than 1")
        if self.latency_ms < 0 or self.hang_seconds < 0 or self.retry_after < 0:
            raise ValueError("latency_ms, hang_seconds and retry_after must not be negative")
        if self.scope not in ("info", "all"):
            raise ValueError("scope must be 'info' or 'all'")

    @property
    def active(self) -> bool:
        return bool(
            self.latency_ms
            or self.error_rate
            or self.rate_limit_rate
            or self.malformed_rate
            or self.hang_rate
        )

    def updated(self, changes: Mapping[str, Any]) -> FaultConfig:
        """A copy with ``changes`` applied; unknown names or bad values raise ``ValueError``."""
        names = {f.name: f for f in fields(self)}
        clean: dict[str, Any] = {}
        for name, value in changes.items():
            if name not in names:
                raise ValueError(f"unknown fault setting {name!r}")
            current = getattr(self, name)
            try:
                if isinstance(current, bool):
                    if value not in (True, False):  # also 0 / 1
                        raise TypeError
                    clean[name] = bool(value)
                elif isinstance(current, int):
                    clean[name] = int(value)
                elif isinstance(current, float):
                    clean[name] = float(value)
                else:
                    clean[name] = str(value)
            except (TypeError, ValueError):
                raise ValueError(f"bad value for {name}: {value!r}") from None
        return replace(self, **clean)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True, slots=True)
class Fault:
    """One injected fault. ``status`` is the HTTP status for errors; ``html`` picks the
    malformed variant (HTML page vs truncated JSON)."""

    kind: FaultKind
    status: int = 200
    html: bool = False


def _pick(config: FaultConfig, u: float, v: int) -> Fault | None:
    edge = config.hang_rate
    if u < edge:
        return Fault("hang", 0)
    edge += config.error_rate
    if u < edge:
        return Fault("error", ERROR_STATUSES[v % len(ERROR_STATUSES)])
    edge += config.rate_limit_rate
    if u < edge:
        return Fault("rate_limit", 429)
    edge += config.malformed_rate
    if u < edge:
        return Fault("malformed", 200, html=bool(v & 1))
    return None


def sticky_draw(seed: int, key: str) -> tuple[float, int]:
    digest = hashlib.sha256(f"{seed}\x00{key}".encode()).digest()
    u = int.from_bytes(digest[:8], "big") / 2.0**64
    return u, int.from_bytes(digest[8:12], "big")


@dataclass
class FaultInjector:
    """Decides faults per request and counts them. Not thread-safe: callers hold the lock."""

    config: FaultConfig = field(default_factory=FaultConfig)
    counts: dict[str, int] = field(default_factory=dict)
    faulted_slugs: dict[str, set[str]] = field(default_factory=dict)
    faulted_paths: set[str] = field(default_factory=set)
    _rng: random.Random = field(default_factory=random.Random)

    def __post_init__(self) -> None:
        self._rng.seed(self.config.seed)
        self.reset_counts()

    def reset_counts(self) -> None:
        self.counts = {"latency": 0, **{k: 0 for k in FAULT_KINDS}}
        self.faulted_slugs = {}
        self.faulted_paths = set()

    def configure(self, config: FaultConfig, *, reset: bool = False) -> None:
        if config.seed != self.config.seed or reset:
            self._rng.seed(config.seed)
        self.config = config
        if reset:
            self.reset_counts()

    def in_scope(self, info_route: bool) -> bool:
        return info_route or self.config.scope == "all"

    def sticky_fault(self, key: str) -> Fault | None:
        """The fault sticky mode gives ``key`` under the current configuration."""
        u, v = sticky_draw(self.config.seed, key)
        return _pick(self.config, u, v)

    def decide(self, key: str, *, slug: tuple[str, str] | None = None) -> Fault | None:
        """Draw (and count) the fault for one request. ``slug`` is ``(type, slug)`` for info
        requests, recorded in :attr:`faulted_slugs` when a fault is injected."""
        config = self.config
        if config.latency_ms:
            self.counts["latency"] += 1
        if not (
            config.hang_rate or config.error_rate or config.rate_limit_rate or config.malformed_rate
        ):
            return None
        if config.sticky:
            fault = self.sticky_fault(key)
        else:
            fault = _pick(config, self._rng.random(), self._rng.getrandbits(32))
        if fault is not None:
            self.counts[fault.kind] += 1
            if slug is not None:
                self.faulted_slugs.setdefault(slug[0], set()).add(slug[1])
            else:
                self.faulted_paths.add(key)
        return fault

    def snapshot(self) -> dict[str, Any]:
        return {
            **self.config.to_dict(),
            "counts": dict(self.counts),
            "faulted_slugs": {k: sorted(v) for k, v in sorted(self.faulted_slugs.items())},
            "faulted_paths": sorted(self.faulted_paths),
        }
