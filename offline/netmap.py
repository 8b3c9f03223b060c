"""The network picture, generated from the plan record: clouds, gateways, tunnels, ranges.

``python -m offline network <stack>`` prints it as Markdown (a Mermaid graph plus tables);
docs/network.md carries prod's, and a test keeps the two equal.
"""

from __future__ import annotations

from typing import Any

from stacks.spec import FleetSpec

from .flows import ACCEPTER, PEERING, Fabric, Record


def render(resources: list[dict[str, Any]], spec: FleetSpec) -> str:
    rec = Record(resources)
    fab = Fabric(rec)
    gw_of = {c.name: fab.gateway_of(c) for c in spec.clusters}
    lines = ["```mermaid", "graph LR"]
    ids: dict[str, str] = {}
    for cloud in ("aws", "azure", "gcp"):
        gws = [g for g in fab.gateways.values() if g.cloud == cloud]
        clusters = [c for c in spec.clusters if c.cloud == cloud]
        if not clusters:
            continue
        lines.append(f"  subgraph {cloud}")
        for g in sorted(gws, key=lambda g: g.name):
            ids[g.urn] = f"g{len(ids)}"
            lines.append(f"    {ids[g.urn]}[\"{g.name}\"]")
        for c in clusters:
            lines.append(f"    {c.name.replace('-', '_')}((\"{c.name}<br/>{c.region}<br/>{c.network.vpc}\"))")
            g = gw_of[c.name]
            if g is not None:
                lines.append(f"    {c.name.replace('-', '_')} --- {ids[g.urn]}")
        lines.append("  end")
    seen: set[frozenset[str]] = set()
    ordered = sorted(fab.gateways.values(), key=lambda g: g.name)  # the record's order varies run to run
    for a in ordered:
        for b in ordered:
            pair = frozenset({a.urn, b.urn})
            if a.urn == b.urn or pair in seen:
                continue
            seen.add(pair)
            n = fab.sessions(a, b)
            if n:
                lines.append(f"  {ids[a.urn]} <-->|\"{n} IPsec tunnels, BGP\"| {ids[b.urn]}")
            elif fab.peering(a, b) is not None:
                lines.append(f"  {ids[a.urn]} <-->|\"TGW peering, static routes\"| {ids[b.urn]}")
    lines.append("```")
    lines += ["", "| gateway | cloud | ASN | advertises |", "|---|---|---|---|"]
    for g in sorted(fab.gateways.values(), key=lambda g: g.name):
        asn = _asn(rec, g)
        lines.append(f"| {g.name} | {g.cloud} | {asn} | {', '.join(str(n) for n in sorted(set(fab.advertised(g))))} |")
    tunnels = _tunnels(rec)
    if tunnels:
        lines += ["", "| tunnel | inside range (AWS: the /30; GCP: its own address/30) |", "|---|---|"]
        lines += [f"| {name} | {cidr} |" for name, cidr in tunnels]
    peerings = sorted(p["name"] for p in rec.of(PEERING) if rec.users(p, ACCEPTER))
    if peerings:
        lines += ["", "TGW peerings: " + ", ".join(peerings)]
    return "\n".join(lines) + "\n"


def _asn(rec: Record, g: Any) -> str:
    i = g.record["inputs"]
    if g.cloud == "aws":
        return str(i.get("amazonSideAsn", ""))
    if g.cloud == "azure":
        return str((i.get("bgpSettings") or {}).get("asn", ""))
    for net in rec.deps(g.record, "gcp:compute/network:Network"):
        for router in rec.users(net, "gcp:compute/router:Router"):
            if router["inputs"].get("bgp"):
                return str(router["inputs"]["bgp"].get("asn", ""))
    return ""


def _tunnels(rec: Record) -> list[tuple[str, str]]:
    out = []
    for conn in rec.of("aws:ec2/vpnConnection:VpnConnection"):
        for i in (1, 2):
            cidr = conn["inputs"].get(f"tunnel{i}InsideCidr")
            if cidr:
                out.append((f"{conn['name']} tunnel {i}", cidr))
    for iface in rec.of("gcp:compute/routerInterface:RouterInterface"):
        if "aws" not in iface["name"]:  # GCP-AWS tunnels are listed by their AWS side
            out.append((iface["name"].removesuffix("-if"), iface["inputs"].get("ipRange", "")))
    return sorted(out)
