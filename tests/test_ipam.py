"""The fleet address plan: disjoint, deterministic, and stable when clusters come and go."""

from __future__ import annotations

import ipaddress
import random
from typing import Any

import pytest

from stacks import ipam
from stacks.config import ConfigError
from stacks.validate import build_spec

CLOUD_REGIONS = [("aws", "us-east-1"), ("azure", "westeurope"), ("gcp", "europe-west1")]


def fleet(names: list[str], space: str = "10.0.0.0/8", **extra: Any) -> dict[str, Any]:
    clusters = []
    for i, name in enumerate(names):
        cloud, region = CLOUD_REGIONS[i % 3]
        clusters.append({"name": name, "cloud": cloud, "region": region, "kubernetesVersion": "1.35",
                         "role": "management" if i == 0 else "workload"})
    return {"environment": "dev", "addressSpace": space, "gcpProject": "proj-test", "clusters": clusters, **extra}


def ranges(spec) -> dict[str, dict[str, ipaddress.IPv4Network]]:
    return {c.name: c.network.ranges() for c in spec.clusters}


def all_disjoint(spec) -> bool:
    nets = [n for c in spec.clusters for n in c.network.ranges().values()]
    return all(not a.overlaps(b) for i, a in enumerate(nets) for b in nets[i + 1:])


def collision_free_names(rng: random.Random, n: int, count: int = 256) -> list[str]:
    names: list[str] = []
    used: set[int] = set()
    while len(names) < n:
        name = f"c{rng.randrange(10**6)}"
        slot = ipam.hashed_slot(name, count)
        if slot not in used:
            used.add(slot)
            names.append(name)
    return names


@pytest.mark.parametrize("seed", range(5))
def test_allocation_is_disjoint_inside_space_and_deterministic(seed: int) -> None:
    names = collision_free_names(random.Random(seed), 12)
    a = build_spec(fleet(names), "t")
    b = build_spec(fleet(list(names)), "t")
    assert ranges(a) == ranges(b)
    assert all_disjoint(a)
    space = ipaddress.IPv4Network("10.0.0.0/8")
    assert all(n.subnet_of(space) for c in a.clusters for n in c.network.ranges().values())


@pytest.mark.parametrize("seed", range(5))
def test_adding_or_removing_a_cluster_never_moves_another(seed: int) -> None:
    rng = random.Random(seed)
    names = collision_free_names(rng, 10)
    before = ranges(build_spec(fleet(names[:9]), "t"))
    # add one (anywhere in the list), then remove a different one
    grown = names[:9]
    grown.insert(rng.randrange(len(grown) + 1), names[9])
    after_add = ranges(build_spec(fleet(grown), "t"))
    assert all(after_add[n] == before[n] for n in before)
    victim = names[rng.randrange(1, 9)]
    after_remove = ranges(build_spec(fleet([n for n in grown if n != victim]), "t"))
    assert all(after_remove[n] == after_add[n] for n in after_remove)


def test_reordering_clusters_changes_nothing() -> None:
    names = collision_free_names(random.Random(7), 6)
    first = build_spec(fleet(names), "t")
    mgmt, rest = names[0], names[1:]
    shuffled = fleet(names)
    shuffled["clusters"] = [shuffled["clusters"][0]] + list(reversed(shuffled["clusters"][1:]))
    assert ranges(build_spec(shuffled, "t")) == ranges(first)
    assert mgmt and rest


def test_explicit_ranges_are_honoured_and_slot_pins_block() -> None:
    raw = fleet(["hub", "spoke"])
    raw["clusters"][0]["network"] = {"vpcCidr": "10.250.0.0/20", "podCidr": "10.251.0.0/16", "serviceCidr": "10.252.0.0/20"}
    raw["clusters"][1]["network"] = {"slot": 3, "serviceCidr": "10.253.0.0/22"}
    spec = build_spec(raw, "t")
    hub, spoke = spec.clusters
    assert (str(hub.network.vpc), str(hub.network.pods), str(hub.network.services)) == ("10.250.0.0/20", "10.251.0.0/16", "10.252.0.0/20")
    assert hub.network.slot is None
    assert str(spoke.network.vpc) == "10.3.0.0/18" and str(spoke.network.pods) == "10.3.128.0/17"
    assert str(spoke.network.services) == "10.253.0.0/22"
    assert all_disjoint(spec)


def test_hash_collision_is_an_error_that_offers_a_free_slot() -> None:
    count = ipam.block_count(ipaddress.IPv4Network("10.0.0.0/12"))  # 16 blocks: collisions are easy to find
    by_slot: dict[int, str] = {}
    pair = None
    for i in range(1000):
        name = f"n{i}"
        s = ipam.hashed_slot(name, count)
        if s in by_slot:
            pair = (by_slot[s], name)
            break
        by_slot[s] = name
    assert pair is not None
    with pytest.raises(ConfigError) as info:
        build_spec(fleet(list(pair), space="10.0.0.0/12"), "t")
    text = info.value.render()
    assert f"clusters[1:{pair[1]}].network.slot" in text and "pin a free slot" in text


def test_block_layout_and_subnets() -> None:
    blk = ipam.block(ipaddress.IPv4Network("10.0.0.0/8"), 5)
    r = ipam.block_ranges(blk)
    assert str(blk) == "10.5.0.0/16"
    assert [str(r[k]) for k in ("vpcCidr", "serviceCidr", "podCidr")] == ["10.5.0.0/18", "10.5.64.0/20", "10.5.128.0/17"]
    plan = ipam.NetworkPlan(slot=5, vpc=r["vpcCidr"], pods=r["podCidr"], services=r["serviceCidr"])
    subnets = ipam.private_subnets(plan.vpc, 3) + ipam.public_subnets(plan.vpc, 3) + [plan.control_plane]
    assert all(s.subnet_of(plan.vpc) for s in subnets)
    assert all(not a.overlaps(b) for i, a in enumerate(subnets) for b in subnets[i + 1:])
    assert plan.dns_service_ip == "10.5.64.10"


# The shipped clusters' blocks in a /8 (256 blocks) and a /10 (64 blocks). Changing the hash
# function (or its byte order, or the modulus) moves every cluster without a pinned slot, which
# replaces its network and its cluster: this table must then fail.
PINNED_SLOTS = {
    256: {"dev-mgmt": 95, "dev-eks": 181, "dev-aks": 72, "dev-gke": 128,
          "prod-mgmt": 157, "prod-use1": 209, "prod-weu": 194, "prod-ase1": 128},
    64: {"dev-mgmt": 31, "dev-eks": 53, "dev-aks": 8, "dev-gke": 0,
         "prod-mgmt": 29, "prod-use1": 17, "prod-weu": 2, "prod-ase1": 0},
}


@pytest.mark.parametrize("count", sorted(PINNED_SLOTS))
def test_the_address_plan_hash_is_pinned(count: int) -> None:
    assert {n: ipam.hashed_slot(n, count) for n in PINNED_SLOTS[count]} == PINNED_SLOTS[count]


def test_too_small_an_address_space_is_said_once() -> None:
    names = [f"c{i}" for i in range(120)]
    for space in ("10.0.0.0/10", "10.0.0.0/15"):
        with pytest.raises(ConfigError) as info:
            build_spec(fleet(names, space=space), "t")
        slot_issues = [i for i in info.value.issues if "network.slot" in i.path or "addressSpace" in i.path]
        assert len(slot_issues) == 1, info.value.render()
        assert slot_issues[0].path == "addressSpace" and "120 clusters need one" in slot_issues[0].message
        assert "free: " not in info.value.render()


def test_allocated_ranges_get_the_checks_explicit_ones_get() -> None:
    """EKS takes a service range only from RFC 1918 (docs.aws.amazon.com/eks/latest/APIReference/
    API_KubernetesNetworkConfigRequest.html, serviceIpv4Cidr): a range allocated from 100.64.0.0/10
    must be refused like an explicit one, and an explicit RFC 1918 service range fixes it."""
    raw = fleet(["hub", "azure1", "gcp1"], space="100.64.0.0/10")
    with pytest.raises(ConfigError) as info:
        build_spec(raw, "t")
    hits = [i for i in info.value.issues if i.path == "clusters[0].network.serviceCidr"]
    assert hits and "RFC 1918" in hits[0].message and "allocated" in hits[0].message, info.value.render()
    assert all(not i.path.startswith(("clusters[1]", "clusters[2]")) for i in info.value.issues)  # AKS/GKE accept it
    raw["clusters"][0]["network"] = {"serviceCidr": "172.20.0.0/16"}
    spec = build_spec(raw, "t")
    assert str(spec.clusters[0].network.services) == "172.20.0.0/16"


def test_reordering_clusters_changes_no_range() -> None:
    names = ["hub", "a1", "b2", "c3", "d4", "e5"]
    raw = fleet(names)
    spec = build_spec(raw, "t")
    raw["clusters"] = list(reversed(raw["clusters"]))
    again = build_spec(raw, "t")
    assert ranges(spec) == ranges(again)
