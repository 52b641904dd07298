"""Who gets a flag: a user override, then the kill switch, then a sticky hash bucket.

Decisions are served from an in-process snapshot of every flag, so a warm decision is a few
dict lookups and one murmur3 hash, with no database query. Every change bumps a version key
in Redis (``flags_changed``); each process reads that key at most every
``ROLLOUT_CHECK_SECONDS`` (0.5 s by default) and reloads the snapshot when it moved, so a
change, a rollback or the kill switch reaches every web and worker process within a second.

The bucket is Unleash's: ``murmur3_32("<group>:<user id>", seed 0, unsigned) % 100 + 1``, and
a user is in when bucket <= percentage. Raising the percentage only adds users; lowering it
only removes them.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from functools import cache

import mmh3
import redis
from django.conf import settings

from rollout.arms import Arm
from rollout.models import SERVING_PHASES, AccountFlag, Flag, FlagOverride, Phase

logger = logging.getLogger(__name__)

MULTI_AGENT_FLAG = "multi_agent"


def bucket(group_id: str, user_id: int) -> int:
    """1..100, the same for a user and group in every process and every release."""
    return mmh3.hash(f"{group_id}:{user_id}", 0, signed=False) % 100 + 1


@dataclass(frozen=True, slots=True)
class FlagState:
    """A flag as it applies in one account (the global values, with the account's own on top)."""

    key: str
    enabled: bool
    percentage: float
    phase: str
    group_id: str
    account_override: bool = False  # the account has its own phase, percentage or switch

    @property
    def serves(self) -> bool:
        return self.enabled and self.phase in SERVING_PHASES


@dataclass(frozen=True, slots=True)
class Entry:
    """What the hot path needs for one flag in one account, precomputed."""

    threshold: float  # the served percentage; 0 when the kill switch is on or the phase serves nobody
    prefix: str  # "<group>:"
    overrides: dict[int, bool]  # user id -> on/off


@dataclass(frozen=True, slots=True)
class Snapshot:
    flags: dict[str, FlagState]
    accounts: dict[tuple[str, int], FlagState]
    overrides: dict[tuple[str, int, int], bool]
    version: bytes | None
    entries: dict[tuple[str, int], Entry]  # accounts with their own settings or overrides
    defaults: dict[str, Entry]  # every other account: the global flag, no overrides


@dataclass(frozen=True, slots=True)
class Decision:
    """Which arm a user gets and why, for the per-user lookup and the shadow runner."""

    enabled: bool  # served by the flagged system
    shadow: bool  # served the legacy answer, with the flagged system answering in the background
    reason: str  # override_on, override_off, unknown_flag, killed, off, bucket_in, bucket_out, shadow_in, ...
    bucket: int | None
    state: FlagState | None

    @property
    def explanation(self) -> str:
        state = self.state
        if self.reason == "override_on":
            return "A user override turns the flag on for this user."
        if self.reason == "override_off":
            return "A user override turns the flag off for this user."
        if state is None:
            return "No such flag is configured: off."
        if self.reason == "killed":
            return "The kill switch is on: off for everyone without an 'on' override."
        if self.reason == "off":
            return "The flag is in phase off: nobody is in."
        pct = f"{state.percentage:g}%"
        if self.reason == "shadow_in":
            return (
                f"Phase shadow: bucket {self.bucket} <= {pct}, so the legacy agent answers and the "
                "multi-agent system also answers in the background for comparison."
            )
        if self.reason == "shadow_out":
            return f"Phase shadow: bucket {self.bucket} > {pct}, so only the legacy agent answers."
        if self.reason == "bucket_in":
            return f"Bucket {self.bucket} <= {pct} in phase {state.phase}: in the cohort."
        return f"Bucket {self.bucket} > {pct} in phase {state.phase}: outside the cohort."


# --- the in-process snapshot ---------------------------------------------------------------

_snapshot: Snapshot | None = None
_next_check = 0.0  # monotonic time of the next look at the version key
_next_reload = 0.0  # a full reload at least this often, whatever the version says
_lock = threading.Lock()
RELOAD_EVERY_SECONDS = 60.0
REDIS_DOWN_RETRY_SECONDS = 5.0


def _version_key() -> str:
    return f"{settings.CACHES['default'].get('KEY_PREFIX', '')}:rollout:version"


@cache
def _redis() -> redis.Redis:
    # Short timeouts: a decision must never hang on Redis; it keeps the last snapshot instead.
    return redis.Redis.from_url(settings.REDIS_URL, socket_timeout=0.25, socket_connect_timeout=0.25)


def _read_version() -> bytes | None:
    return _redis().get(_version_key())


def _load(version: bytes | None) -> Snapshot:
    flags: dict[str, FlagState] = {}
    for flag in Flag.objects.all():
        flags[flag.key] = FlagState(
            key=flag.key,
            enabled=flag.enabled,
            percentage=float(flag.percentage),
            phase=flag.phase,
            group_id=flag.hash_group,
        )
    accounts: dict[tuple[str, int], FlagState] = {}
    for setting in AccountFlag.objects.select_related("flag"):
        base = flags[setting.flag.key]
        accounts[(base.key, setting.account_id)] = FlagState(
            key=base.key,
            enabled=base.enabled if setting.enabled is None else setting.enabled,
            percentage=base.percentage if setting.percentage is None else float(setting.percentage),
            phase=setting.phase or base.phase,
            group_id=base.group_id,
            account_override=True,
        )
    overrides = {
        (key, account_id, user_id): enabled
        for key, account_id, user_id, enabled in FlagOverride.objects.values_list(
            "flag__key", "account_id", "user_id", "enabled"
        )
    }

    def entry(state: FlagState, pinned: dict[int, bool]) -> Entry:
        return Entry(threshold=state.percentage if state.serves else 0.0, prefix=f"{state.group_id}:",
                     overrides=pinned)  # fmt: skip

    pinned: dict[tuple[str, int], dict[int, bool]] = {}
    for (key, account_id, user_id), enabled in overrides.items():
        pinned.setdefault((key, account_id), {})[user_id] = enabled
    entries = {
        (key, account_id): entry(
            accounts.get((key, account_id)) or flags[key], pinned.get((key, account_id), {})
        )
        for key, account_id in set(accounts) | set(pinned)
    }
    defaults = {key: entry(state, {}) for key, state in flags.items()}
    return Snapshot(flags=flags, accounts=accounts, overrides=overrides, version=version, entries=entries,
                    defaults=defaults)  # fmt: skip


def _refresh(now: float) -> Snapshot:
    global _snapshot, _next_check, _next_reload
    with _lock:
        if now < _next_check and _snapshot is not None:
            return _snapshot  # another thread refreshed while this one waited
        check_again = now + settings.ROLLOUT_CHECK_SECONDS
        try:
            version = _read_version()
        except redis.RedisError:
            logger.warning("rollout: cannot read the flag version from Redis; using the last snapshot")
            version = _snapshot.version if _snapshot is not None else None
            check_again = now + REDIS_DOWN_RETRY_SECONDS
        if _snapshot is None or version != _snapshot.version or now >= _next_reload:
            _snapshot = _load(version)
            _next_reload = now + RELOAD_EVERY_SECONDS
        _next_check = check_again
        return _snapshot


def snapshot() -> Snapshot:
    snap = _snapshot
    if snap is not None and time.monotonic() < _next_check:
        return snap
    return _refresh(time.monotonic())


def flags_changed() -> None:
    """Tell every process (this one at once) that flags changed. Call after commit."""
    local_invalidate()
    if settings.USES_EMBEDDED_REDIS and not settings.EMBEDDED_REDIS_SOCKET.exists():
        # Nothing listens: every other process talks through the embedded Redis, so none is
        # running, and a server started later begins empty. `make run` seeds before it starts one.
        return
    try:
        _redis().incr(_version_key())
    except redis.RedisError as error:
        # Other processes still reload within RELOAD_EVERY_SECONDS.
        logger.warning("rollout: could not publish a flag change to Redis (%s)", error)


def local_invalidate() -> None:
    """Drop this process's snapshot: the next decision reloads it."""
    global _snapshot, _next_check
    with _lock:
        _snapshot = None
        _next_check = 0.0


# --- decisions ---------------------------------------------------------------------------


def flag_state(snap: Snapshot, flag_key: str, account_id: int) -> FlagState | None:
    return snap.accounts.get((flag_key, account_id)) or snap.flags.get(flag_key)


_monotonic = time.monotonic
_hash = mmh3.hash


def is_enabled(flag_key: str, user, account) -> bool:
    """Is ``user`` (a user or a user id) of ``account`` (an account or its id) in? The hot path:
    two dict lookups and, outside the overrides, one murmur3 hash; no query once warm."""
    user_id = user if type(user) is int else user.pk
    account_id = account if type(account) is int else account.pk
    snap = _snapshot
    if snap is None or _monotonic() >= _next_check:
        snap = snapshot()
    entry = snap.entries.get((flag_key, account_id)) or snap.defaults.get(flag_key)
    if entry is None:
        return False
    override = entry.overrides.get(user_id)
    if override is not None:
        return override
    return entry.threshold > 0 and _hash(entry.prefix + str(user_id), 0, False) % 100 + 1 <= entry.threshold


def decide(flag_key: str, *, user_id: int, account_id: int) -> Decision:
    """The decision with its reason; the same answer as ``is_enabled``, plus shadow."""
    snap = snapshot()
    state = flag_state(snap, flag_key, account_id)
    override = snap.overrides.get((flag_key, account_id, user_id))
    if override is not None:
        reason = "override_on" if override else "override_off"
        return Decision(enabled=override, shadow=False, reason=reason, bucket=None, state=state)
    if state is None:
        return Decision(enabled=False, shadow=False, reason="unknown_flag", bucket=None, state=None)
    if not state.enabled:
        return Decision(enabled=False, shadow=False, reason="killed", bucket=None, state=state)
    if state.phase == Phase.OFF:
        return Decision(enabled=False, shadow=False, reason="off", bucket=None, state=state)
    user_bucket = bucket(state.group_id, user_id)
    inside = user_bucket <= state.percentage
    if state.phase == Phase.SHADOW:
        reason = "shadow_in" if inside else "shadow_out"
        return Decision(enabled=False, shadow=inside, reason=reason, bucket=user_bucket, state=state)
    return Decision(
        enabled=inside,
        shadow=False,
        reason="bucket_in" if inside else "bucket_out",
        bucket=user_bucket,
        state=state,
    )


def multi_agent_arm(*, user_id: int, account_id: int) -> str:
    """The arm a new conversation gets. Where no ``multi_agent`` flag is configured at all the
    system is not being rolled out, so the multi-agent system (what the code ships) serves."""
    snap = snapshot()
    if flag_state(snap, MULTI_AGENT_FLAG, account_id) is None:
        return Arm.MULTI_AGENT
    enabled = is_enabled(MULTI_AGENT_FLAG, user_id, account_id)
    return Arm.MULTI_AGENT if enabled else Arm.LEGACY


def has_override_on(flag_key: str, *, user_id: int, account_id: int) -> bool:
    return snapshot().overrides.get((flag_key, account_id, user_id)) is True
