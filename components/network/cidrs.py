"""Checks of the address ranges a network component is given: each refusal names the field (as the
package schema spells it) and the value."""

import ipaddress
from collections.abc import Sequence

Net = ipaddress.IPv4Network


def cidr(field: str, value: str, *, smallest: int = 32, largest: int = 0) -> Net:
    """``value`` as an IPv4 network whose prefix length is between ``largest`` and ``smallest``."""
    try:
        net = ipaddress.IPv4Network(value)
    except ValueError as e:
        raise ValueError(f"{field}: {value!r} is not an IPv4 CIDR ({e})") from None
    if net.prefixlen > smallest:
        raise ValueError(f"{field}: {value!r} is smaller than a /{smallest}")
    if net.prefixlen < largest:
        raise ValueError(f"{field}: {value!r} is larger than a /{largest}")
    return net


def inside(field: str, net: Net, outer: Net, outer_field: str) -> None:
    if not net.subnet_of(outer):
        raise ValueError(f"{field}: {net} is not inside {outer_field} {outer}")


def disjoint(ranges: Sequence[tuple[str, Net]]) -> None:
    """Refuse the first pair of ranges that overlap."""
    for i, (fa, a) in enumerate(ranges):
        for fb, b in ranges[i + 1:]:
            if a.overlaps(b):
                raise ValueError(f"{fb}: {b} overlaps {fa} {a}")


def per_zone(field: str, values: Sequence[str], zones: Sequence[str], **limits: int) -> list[Net]:
    """One range per zone, in the zones' order."""
    if len(values) != len(zones):
        raise ValueError(f"{field}: {len(values)} ranges for {len(zones)} zones (one per zone, in the zones' order)")
    return [cidr(f"{field}[{i}]", v, **limits) for i, v in enumerate(values)]


def zone_list(zones: Sequence[str]) -> list[str]:
    if not zones:
        raise ValueError("zones: at least one zone is needed")
    if len(set(zones)) != len(zones):
        raise ValueError(f"zones: {list(zones)} names a zone twice")
    return list(zones)
