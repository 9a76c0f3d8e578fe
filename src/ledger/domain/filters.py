"""Target filters (定向 / 不定向) as data, with the predicate that defines them.

The SQL in projections/pools.py must select exactly what `matches` accepts;
draw replay uses `matches` on the state rebuilt from events, so any
disagreement shows up as a replay difference.
"""

from __future__ import annotations

import msgspec


class EntityFilter(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """定向 filters; an empty filter is 不定向 (all)."""

    risk_classes: tuple[str, ...] = ()
    region_prefix: str | None = None
    entity_types: tuple[str, ...] = ()
    industry_prefix: str | None = None
    department: str | None = None
    statuses: tuple[str, ...] = ()


class InspectorFilter(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    department: str | None = None
    region_prefix: str | None = None
    role: str | None = None
    qualification: str | None = None
    statuses: tuple[str, ...] = ()


def matches(f: EntityFilter, *, risk_class: str, region_code: str, entity_type: str, industry: str,
            departments: tuple[str, ...], status: str) -> bool:
    """Whether an entity with these attributes passes `f`.

    >>> matches(EntityFilter(region_prefix="3605"), risk_class="A", region_code="360502",
    ...         entity_type="enterprise", industry="F52", departments=(), status="active")
    True
    """
    return (
        (not f.risk_classes or risk_class in f.risk_classes)
        and (not f.entity_types or entity_type in f.entity_types)
        and (not f.statuses or status in f.statuses)
        and (not f.region_prefix or region_code.startswith(f.region_prefix))
        and (not f.industry_prefix or industry.startswith(f.industry_prefix))
        and (not f.department or f.department in departments)
    )
