"""Submariner on one cluster: the operator chart, joined to a broker.

The ``submariner-operator`` chart renders a ``Submariner`` resource from its values; the operator
then runs the gateway (the inter-cluster tunnel endpoint), a route agent on every node and
Lighthouse (the ``clusterset.local`` DNS server and agent). What this cluster needs from the rest
of the clusterset comes in as the broker's address, token and CA and the clusterset's IPsec PSK:
nothing else links it to another cluster. ``SubmarinerJoin`` takes plain values and Inputs (a
component of the package, ``docs/package.md``); the fleet's composition is in
``components/fleet/submariner.py``.
"""

import ipaddress
import json
from typing import Any, NotRequired, TypedDict, get_args

import pulumi
import pulumi_kubernetes as k8s

from components.addons.helm import release_on
from components.security.namespaces import pss_namespace_on
from components.tokens import component_type, renamed_from
from stacks.sections.connectivity import AKS_COREDNS_CUSTOM, CableDriver, lighthouse_dns_ip
from stacks.versions import SUBMARINER_IMAGE_TAG

# The chart's Submariner resource is hard-coded to this namespace, so the release must live here.
OPERATOR_NAMESPACE = "submariner-operator"
# Release name == namespace == chart name of the broker chart, so its "fullname" is the release name.
BROKER_NAMESPACE = "submariner-k8s-broker"
NATT_PORT = 4500  # IPsec NAT-T; also the encapsulation port of the wireguard and vxlan drivers
CABLE_DRIVERS: tuple[str, ...] = get_args(CableDriver)
# How clusterset.local reaches Lighthouse's DNS on a cluster:
#   "coredns"         the operator edits the ``coredns`` Corefile (between lighthouse-start/-end);
#   "coredns-custom"  the operator writes ``lighthouse.server`` into a ConfigMap CoreDNS imports (AKS);
#   "kube-dns"        kube-dns stub domain to a Service of fixed ClusterIP in front of Lighthouse (GKE).
CLUSTER_DNS_MODES = ("coredns", "coredns-custom", "kube-dns")
# The PSK and the broker token stay inline in the chart's Submariner resource, as Pulumi secrets
# in the plan and state. Read against upstream at 0.18.1 (tests/test_submariner.py cites the lines):
# - the token cannot leave the resource: with ``brokerK8sSecret`` set, the operator's first step
#   of every reconcile builds its own broker client from the inline token ("TODO Read the
#   secret", fixed upstream in 0.19.0) and stops the reconcile when that fails; it also copies the
#   token into the ServiceDiscovery resource and the gateway's environment;
# - libreswan does read ``ceIPSecPSKSecret`` (key ``psk``, and it wins over the inline value),
#   but the 0.18.1 chart renders the resource unconditionally with ``ceIPSecPSK`` from its values,
#   has no value for a reference, and installs a CRD copy without the field (a structural schema
#   prunes it); WireGuard reads only the inline PSK.
SECRETS_INLINE_REASON = ("operator 0.18.1 needs the inline broker token; chart 0.18.1 can only render an inline PSK "
                         "(no ceIPSecPSKSecret in its template or CRD copy)")

# Lighthouse's CoreDNS pods (submariner-operator controllers/servicediscovery: app label).
LIGHTHOUSE_DNS_APP = "submariner-lighthouse-coredns"
LIGHTHOUSE_DNS_FIXED = "submariner-lighthouse-dns-fixed"
PRIVILEGED_REASON = (
    "Submariner's gateway and route-agent pods run with hostNetwork and privileged/NET_ADMIN: they "
    "program IPsec/WireGuard tunnels, routes and iptables rules on the node."
)


class SubmarinerJoinArgs(TypedDict):
    """Inputs of a SubmarinerJoin: the cluster, its ranges, and how it reaches the broker."""

    kubernetes_provider: k8s.Provider
    """The Kubernetes provider of the joining cluster; every object is created through it."""
    cluster_id: str
    """Submariner's cluster ID: a DNS-1123 label (lowercase alphanumerics and '-', at most 63),
    unique in the clusterset. Also names the cluster in Lighthouse's DNS."""
    cluster_cidr: pulumi.Input[str]
    """The cluster's pod range (IPv4 CIDR). Stated, not discovered: the operator's discovery
    knows no managed cloud CNI."""
    service_cidr: str
    """The cluster's Service range (IPv4 CIDR); with clusterDns kube-dns, the Lighthouse DNS
    Service takes a static ClusterIP in it (offset 53, inside the static band)."""
    broker_server: pulumi.Input[str]
    """The broker cluster's API server as host:port, no scheme (Submariner prepends https://)."""
    broker_token: pulumi.Input[str]
    """Bearer token of a broker client service account (a secret)."""
    broker_ca: pulumi.Input[str]
    """Base64 PEM of the broker API server's CA (as in a service-account token Secret's ca.crt)."""
    ipsec_psk: pulumi.Input[str]
    """The clusterset's pre-shared key, the same on every cluster (a secret)."""
    broker_namespace: NotRequired[str]
    """The broker's namespace on the broker cluster. Default: submariner-k8s-broker."""
    global_cidr: NotRequired[str]
    """This cluster's Globalnet slice (IPv4 CIDR); setting it turns Globalnet on (and its RBAC).
    Only for clustersets with overlapping ranges. Default: none (Globalnet off)."""
    cable_driver: NotRequired[str]
    """libreswan (IPsec), wireguard, or vxlan (unencrypted). Default: libreswan."""
    nat_traversal: NotRequired[bool]
    """Gateways reach each other through NAT / public IPs (discovered on UDP 4490); false when a
    private network joins the clusters. Default: true."""
    cluster_dns: NotRequired[str]
    """How clusterset.local reaches Lighthouse: coredns (the operator edits the coredns Corefile),
    coredns-custom (the operator writes the coredns-custom ConfigMap in kube-system, as AKS
    imports it), or kube-dns (a stub domain to a fixed-IP Service, as on GKE). Default: coredns."""
    name_prefix: NotRequired[str]
    """Prefix of every child's logical name. Default: the component's own name."""


def cluster_id(name: str) -> str:
    """Submariner's cluster ID: a unique DNS-1123 label. Cluster names already are (the config
    enforces the pattern, the length and uniqueness), so the ID is the name itself."""
    if not (name and len(name) <= 63 and name[0].isalnum() and name[-1].isalnum()
            and all(ch.isdigit() or ("a" <= ch <= "z") or ch == "-" for ch in name)):
        raise ValueError(f"clusterId: {name!r} is not a DNS-1123 label, so not a Submariner cluster ID")
    return name


def _check_args(args: SubmarinerJoinArgs) -> None:
    cluster_id(args["cluster_id"])
    for key, field in (("service_cidr", "serviceCidr"), ("global_cidr", "globalCidr")):
        value = args.get(key)
        if value is None and key == "global_cidr":
            continue
        try:
            ipaddress.IPv4Network(value)
        except (ValueError, TypeError) as err:
            raise ValueError(f"{field}: {value!r} is not an IPv4 CIDR ({err})") from None
    if args.get("cable_driver", "libreswan") not in CABLE_DRIVERS:
        raise ValueError(f"cableDriver: {args.get('cable_driver')!r} is not one of {', '.join(CABLE_DRIVERS)}")
    if args.get("cable_driver") == "vxlan" and args.get("nat_traversal", True):
        raise ValueError("natTraversal: true with cableDriver vxlan, whose driver works only without NAT")
    if args.get("cluster_dns", "coredns") not in CLUSTER_DNS_MODES:
        raise ValueError(f"clusterDns: {args.get('cluster_dns')!r} is not one of {', '.join(CLUSTER_DNS_MODES)}")


def join_values(args: SubmarinerJoinArgs) -> dict[str, Any]:
    """Values of the submariner-operator chart (keys as in its values.yaml at the pinned version).

    Secret leaves (token, CA, PSK) stay Outputs so that only they are masked, not the whole map.
    Token and PSK stay inline (:data:`SECRETS_INLINE_REASON`, and the note above it).
    """
    global_cidr = args.get("global_cidr")
    values: dict[str, Any] = {
        "broker": {
            "server": args["broker_server"],
            "token": args["broker_token"],
            "ca": args["broker_ca"],
            "namespace": args.get("broker_namespace", BROKER_NAMESPACE),
            "insecure": False,
            "globalnet": bool(global_cidr),
        },
        "submariner": {
            "clusterId": cluster_id(args["cluster_id"]),
            # Managed CNIs are not in the operator's auto-discovery list: state the ranges.
            "clusterCidr": args["cluster_cidr"],
            "serviceCidr": args["service_cidr"],
            "globalCidr": global_cidr or "",
            "natEnabled": args.get("nat_traversal", True),
            "cableDriver": args.get("cable_driver", "libreswan"),
            "serviceDiscovery": True,
            "healthcheckEnabled": True,
            "images": {"tag": SUBMARINER_IMAGE_TAG},
        },
        "ipsec": {
            "psk": args["ipsec_psk"],
            # ESP always inside UDP: crosses NAT and keeps the firewall to UDP ports only.
            "forceUDPEncaps": True,
            # No ikePort: libreswan runs IKE on the NAT-T port; the Submariner resource's
            # ceIPSecIKEPort is read by nothing at 0.18.1 (tests/test_submariner.py).
            "natPort": NATT_PORT,
        },
        "operator": {"image": {"tag": SUBMARINER_IMAGE_TAG}},
    }
    if args.get("cluster_dns") == "coredns-custom":
        # The operator writes ``lighthouse.server`` there instead of editing ``coredns``
        # (controllers/servicediscovery/servicediscovery_controller.go updateDNSCustomConfigMap).
        values["submariner"]["coreDNSCustomConfig"] = dict(AKS_COREDNS_CUSTOM)
    return values


def kube_dns_stub_domains(ip: str) -> str:
    """kube-dns ``stubDomains`` (JSON) sending clusterset.local to Lighthouse's DNS."""
    return json.dumps({"clusterset.local": [ip]})


def _resources(value: Any) -> list[pulumi.Resource]:
    """The resources a ``depends_on`` option names, when given as plain resources."""
    items = value if isinstance(value, list) else [value]
    return [r for r in items if isinstance(r, pulumi.Resource)]


class SubmarinerJoin(pulumi.ComponentResource):
    """The Submariner operator on one cluster, joined to a broker: the operator chart (gateway,
    route agent, Lighthouse service discovery) in a privileged namespace, and the DNS wiring that
    sends clusterset.local to Lighthouse. The chart release waits for what the component's
    dependsOn names (the broker)."""

    cluster_id: pulumi.Output[str]
    """The cluster's Submariner cluster ID."""
    operator_namespace: pulumi.Output[str]
    """The namespace of the operator and its agents (submariner-operator: the chart's Submariner
    resource is fixed to it)."""
    release_status: pulumi.Output[str]
    """Status of the operator chart's Helm release (deployed once the install succeeded)."""

    def __init__(self, name: str, args: SubmarinerJoinArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__(component_type(SubmarinerJoin), name, None, renamed_from("archipelago:submariner:SubmarinerJoin", opts))
        _check_args(args)
        provider = args["kubernetes_provider"]
        prefix = args.get("name_prefix") or name
        self.namespace = pss_namespace_on(provider, OPERATOR_NAMESPACE, "privileged", parent=self, reason=PRIVILEGED_REASON,
                                          logical_name=f"{prefix}-ns")
        # Python-only handle: what must exist before this cluster exports services.
        self.release = release_on(
            provider,
            "submariner-operator",
            logical_name=f"{prefix}-operator",
            release_name="submariner-operator",
            namespace=OPERATOR_NAMESPACE,
            values=join_values(args),
            parent=self,
            depends_on=[self.namespace, *_resources(opts.depends_on if opts else None)],
        )
        if args.get("cluster_dns") == "kube-dns":
            self._kube_dns_stub(provider, prefix, args["service_cidr"])
        self.cluster_id = pulumi.Output.from_input(args["cluster_id"])
        self.operator_namespace = pulumi.Output.from_input(OPERATOR_NAMESPACE)
        self.release_status = self.release.status.status
        self.register_outputs({"clusterId": self.cluster_id, "operatorNamespace": self.operator_namespace,
                               "releaseStatus": self.release_status})

    def _kube_dns_stub(self, provider: k8s.Provider, prefix: str, service_cidr: str) -> None:
        """kube-dns has no Corefile for the operator to edit: a Service with a fixed ClusterIP in
        front of Lighthouse's DNS pods, and a stub domain to it."""
        ip = lighthouse_dns_ip(ipaddress.IPv4Network(service_cidr))
        opts = pulumi.ResourceOptions(parent=self, provider=provider, depends_on=[self.release])
        k8s.core.v1.Service(
            f"{prefix}-lighthouse-dns",
            metadata=k8s.meta.v1.ObjectMetaArgs(name=LIGHTHOUSE_DNS_FIXED, namespace=OPERATOR_NAMESPACE),
            spec=k8s.core.v1.ServiceSpecArgs(
                cluster_ip=ip, selector={"app": LIGHTHOUSE_DNS_APP},
                ports=[k8s.core.v1.ServicePortArgs(name="udp", port=53, target_port=53, protocol="UDP"),
                       k8s.core.v1.ServicePortArgs(name="tcp", port=53, target_port=53, protocol="TCP")]),
            opts=opts)
        k8s.core.v1.ConfigMapPatch(
            f"{prefix}-kube-dns-clusterset",
            metadata=k8s.meta.v1.ObjectMetaPatchArgs(name="kube-dns", namespace="kube-system",
                                                     annotations={"pulumi.com/patchForce": "true"}),
            data={"stubDomains": kube_dns_stub_domains(ip)}, opts=opts)
