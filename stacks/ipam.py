"""The fleet address plan: pure functions, no Pulumi.

The fleet's ``addressSpace`` is cut into /16 *blocks*. A cluster's block is chosen by a stable
key, never by its position in the list: the ``network.slot`` pinned in config, or else a hash of
the cluster's name. Adding or removing a cluster therefore never moves another cluster's ranges.
Two clusters whose names hash to the same block are a config error that names a free slot to pin.

Inside a /16 block (offsets from the block's first address)::

    +0.0    /18  VPC / VNet / subnetwork (nodes, load balancers)   16,384 addresses
    +64.0   /20  Kubernetes services                                 4,096 addresses
    +80.0   ...  spare
    +128.0  /17  pods                                               32,768 addresses

Explicit ranges in config win over the block's and are checked like allocated ones.
"""

from __future__ import annotations

import hashlib
import ipaddress
from dataclasses import dataclass

Net = ipaddress.IPv4Network

BLOCK_PREFIX = 16
VPC_PREFIX = 18
SERVICE_PREFIX = 20
POD_PREFIX = 17

# Smallest ranges accepted (largest prefix length), and the service range bounds EKS imposes.
MIN_VPC_PREFIX = 20
MIN_POD_PREFIX = 20
SERVICE_PREFIX_RANGE = (12, 24)

# Private ranges a fleet may live in (RFC 1918 and the RFC 6598 shared space).
PRIVATE_SPACES = tuple(
    ipaddress.IPv4Network(n) for n in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10")
)
RFC1918 = PRIVATE_SPACES[:3]


def block_count(space: Net) -> int:
    """Number of /16 blocks in the address space (0 when the space is smaller than a block)."""
    if space.prefixlen > BLOCK_PREFIX:
        return 0
    return 2 ** (BLOCK_PREFIX - space.prefixlen)


def hashed_slot(name: str, count: int) -> int:
    """The block a cluster gets when no slot is pinned: a stable hash of its name."""
    digest = hashlib.sha256(name.encode()).digest()
    return int.from_bytes(digest[:8], "big") % count


def block(space: Net, slot: int) -> Net:
    base = int(space.network_address) + slot * 2 ** (32 - BLOCK_PREFIX)
    return ipaddress.IPv4Network((base, BLOCK_PREFIX))


def _at(blk: Net, offset: int, prefix: int) -> Net:
    return ipaddress.IPv4Network((int(blk.network_address) + offset, prefix))


def block_ranges(blk: Net) -> dict[str, Net]:
    return {
        "vpcCidr": _at(blk, 0, VPC_PREFIX),
        "serviceCidr": _at(blk, 64 * 256, SERVICE_PREFIX),
        "podCidr": _at(blk, 128 * 256, POD_PREFIX),
    }


@dataclass(frozen=True)
class NetworkPlan:
    """A cluster's resolved address ranges."""

    slot: int | None
    vpc: Net
    pods: Net
    services: Net

    @property
    def control_plane(self) -> Net:
        """A /28 for a private control plane (GKE ``master_ipv4_cidr_block``): the VPC's last /28,
        which no subnet below uses."""
        return ipaddress.IPv4Network((int(self.vpc.broadcast_address) - 15, 28))

    @property
    def dns_service_ip(self) -> str:
        """The cluster DNS service address: the tenth address of the service range."""
        return str(self.services.network_address + 10)

    def ranges(self) -> dict[str, Net]:
        return {"vpcCidr": self.vpc, "podCidr": self.pods, "serviceCidr": self.services}


def private_subnets(vpc: Net, zones: int) -> list[Net]:
    """One node subnet per zone: the VPC's first three quarters, a quarter each."""
    return list(vpc.subnets(prefixlen_diff=2))[:zones]


def public_subnets(vpc: Net, zones: int) -> list[Net]:
    """One small public subnet (NAT gateway, public load balancers) per zone, from the last quarter."""
    last_quarter = list(vpc.subnets(prefixlen_diff=2))[3]
    return list(last_quarter.subnets(prefixlen_diff=4))[:zones]


def pod_subnets(pods: Net, zones: int) -> list[Net]:
    """Per-zone pod subnets (EKS VPC CNI custom networking on the secondary pod range)."""
    return list(pods.subnets(prefixlen_diff=2))[:zones]


def node_subnet(vpc: Net) -> Net:
    """Azure and GCP: one regional node subnet, the VPC's first half."""
    return next(iter(vpc.subnets(prefixlen_diff=1)))


def gateway_subnet(vpc: Net) -> Net:
    """Azure ``GatewaySubnet`` of the fabric's VPN gateway: the first /27 of the VNet's second half,
    which no node subnet uses (/27 is the size Azure recommends for gateway subnets)."""
    return ipaddress.IPv4Network((int(list(vpc.subnets(prefixlen_diff=1))[1].network_address), 27))


def overlaps(a: Net, b: Net) -> bool:
    return a.overlaps(b)


def is_private(net: Net) -> bool:
    return any(net.subnet_of(space) for space in PRIVATE_SPACES)
