"""The security controls: one table, the source of the policy pack's baseline policies.

Each :class:`Control` names a resource type, a property path in its inputs, and what the value
must be: a constant, or a field of the environment's :class:`~stacks.baseline.Baseline` (so prod
and dev expectations come from the one baseline table), and the pack policy it belongs to.
:func:`violations` checks one resource as the engine sees it (type, inputs, protect flag);
``policy/rules.py`` turns the table into policies (run by ``pulumi preview --policy-pack policy``
and offline by ``python -m offline plan <stack> --policy``); ``offline/controls.py`` walks the
same table over a plan record and adds the presence check per cluster; docs/security.md's tables
are rendered from it (``python -m offline docs``).

Nothing here imports Pulumi: the pack, the offline runs and the docs read the same objects.

Paths: ``a.b.c`` into nested inputs, ``["x/y"]`` for keys with dots or slashes, ``[*]`` for
every item of a list (the expectation must hold for each), and ``$protect`` for the record's
``protect`` flag.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from stacks.baseline import APPLICATION_NAMESPACES, BASELINES, PROD, Baseline
from stacks.versions import POD_SECURITY_VERSION

# --- expectations ------------------------------------------------------------------------------

_MISSING = object()


class Expect:
    def ok(self, actual: Any, base: Baseline) -> bool:
        raise NotImplementedError

    def describe(self, base: Baseline) -> str:
        raise NotImplementedError

    def violation(self, base: Baseline) -> Any:
        """A value that breaks this expectation (used to prove a control bites)."""
        raise NotImplementedError


@dataclass(frozen=True)
class Eq(Expect):
    value: Any = None
    field: str | None = None  # take the expected value from this Baseline field instead

    def expected(self, base: Baseline) -> Any:
        value = getattr(base, self.field) if self.field else self.value
        return list(value) if isinstance(value, tuple) else value

    def ok(self, actual: Any, base: Baseline) -> bool:
        return actual == self.expected(base)

    def describe(self, base: Baseline) -> str:
        return f"`{_fmt(self.expected(base))}`"

    def violation(self, base: Baseline) -> Any:
        exp = self.expected(base)
        return (not exp) if isinstance(exp, bool) else "weakened"


@dataclass(frozen=True)
class Has(Expect):
    """A list holding at least these items."""

    items: tuple[Any, ...]

    def ok(self, actual: Any, base: Baseline) -> bool:
        return isinstance(actual, list) and set(self.items) <= set(actual)

    def describe(self, base: Baseline) -> str:
        return "includes " + ", ".join(f"`{i}`" for i in self.items)

    def violation(self, base: Baseline) -> Any:
        return list(self.items[1:])


@dataclass(frozen=True)
class NoneOf(Expect):
    """Absent, or a value / list holding none of these."""

    items: tuple[Any, ...]

    def ok(self, actual: Any, base: Baseline) -> bool:
        values = actual if isinstance(actual, list) else [actual]
        return not any(v in self.items for v in values)

    def describe(self, base: Baseline) -> str:
        return "never " + ", ".join(f"`{i}`" for i in self.items)

    def violation(self, base: Baseline) -> Any:
        return self.items[0]


@dataclass(frozen=True)
class Matches(Expect):
    pattern: str

    def ok(self, actual: Any, base: Baseline) -> bool:
        return isinstance(actual, str) and re.search(self.pattern, actual) is not None

    def describe(self, base: Baseline) -> str:
        return f"matches `{self.pattern}`"

    def violation(self, base: Baseline) -> Any:
        return ""


@dataclass(frozen=True)
class Absent(Expect):
    def ok(self, actual: Any, base: Baseline) -> bool:
        return actual is _MISSING or actual in (None, [], {})

    def describe(self, base: Baseline) -> str:
        return "absent (nothing allowed)"

    def violation(self, base: Baseline) -> Any:
        return [{"from": [{}]}]


@dataclass(frozen=True)
class Check(Expect):
    """A predicate over the value (None when absent), for rules a single constant cannot state,
    such as a provider default that applies when an input is absent."""

    test: Callable[[Any], bool]
    text: str
    bad: Any

    def ok(self, actual: Any, base: Baseline) -> bool:
        return self.test(actual)

    def describe(self, base: Baseline) -> str:
        return self.text

    def violation(self, base: Baseline) -> Any:
        return self.bad


def _fmt(v: Any) -> str:
    return str(v).lower() if isinstance(v, bool) else str(v)


# --- the table ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class Control:
    cloud: str  # aws | azure | gcp | all
    what: str
    type: str
    path: str
    expect: Expect
    # Only resources whose inputs match every (path, value) pair are checked.
    where: tuple[tuple[str, Any], ...] = ()
    # Every cluster of ``cloud`` must have at least one such resource (False for "never" rules).
    required: bool = True
    # Not enforced where the environment's baseline relaxes this Baseline field (see DEV_RELAXES).
    relaxed_by: str | None = None
    # Enforced only in these environments (controls that depend on config only prod sets).
    envs: tuple[str, ...] = ("dev", "staging", "prod")
    # The pack policy this control belongs to; default: ``baseline-<cloud>`` (``baseline-kubernetes``).
    policy: str = ""

    @property
    def policy_name(self) -> str:
        return self.policy or f"baseline-{'kubernetes' if self.cloud == 'all' else self.cloud}"


EKS = "aws:eks/cluster:Cluster"
# Policies that several controls make up (the rest are ``baseline-<cloud>``).
EKS_SECRETS, EKS_ENDPOINT, IMDS = "eks-secrets-encryption", "eks-private-endpoint", "imdsv2-required"
AKS_RBAC, AKS_SECRETS, AKS_API = "aks-azure-rbac", "aks-secrets-encryption", "aks-api-access-limited"
GKE_WI, GKE_SECRETS, GKE_SHIELDED = "gke-workload-identity", "gke-secrets-encryption", "gke-shielded-nodes"
AKS = "azure-native:containerservice:ManagedCluster"
GKE = "gcp:container/cluster:Cluster"
NS = "kubernetes:core/v1:Namespace"
NETPOL = "kubernetes:networking.k8s.io/v1:NetworkPolicy"
CRB = "kubernetes:rbac.authorization.k8s.io/v1:ClusterRoleBinding"
RB = "kubernetes:rbac.authorization.k8s.io/v1:RoleBinding"
ROLE = "kubernetes:rbac.authorization.k8s.io/v1:Role"
BROAD_GROUPS = ("system:authenticated", "system:unauthenticated")
EKS_ADMIN_POLICY = "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy"

def _get(node: Any, path: str) -> Any:
    for key in path.split("."):
        if not isinstance(node, Mapping) or key not in node:
            return None
        node = node[key]
    return node


def _seq(value: Any) -> list[Any]:
    return list(value) if isinstance(value, Sequence) and not isinstance(value, str) else []


def _eks_public_closed(vpc: Any) -> bool:
    # AWS defaults: the public endpoint is on, and open to 0.0.0.0/0 when no CIDRs are given.
    if _get(vpc, "endpointPublicAccess") is False:
        return True
    cidrs = _seq(_get(vpc, "publicAccessCidrs")) or ["0.0.0.0/0"]
    return not any(str(c) in ("0.0.0.0/0", "::/0") for c in cidrs)


def _aks_private_or_hosts(profile: Any) -> bool:
    """Private, or public but admitting single addresses only: the NAT addresses of the fleet's
    own networks (the deployment runner's among them), never a network range."""
    if _get(profile, "enablePrivateCluster") is True:
        return True
    ranges = [str(r) for r in _seq(_get(profile, "authorizedIPRanges"))]
    return bool(ranges) and all(r.endswith("/32") for r in ranges)


def _aks_api_limited(profile: Any) -> bool:
    if _get(profile, "enablePrivateCluster") is True:
        return True
    ranges = [str(r) for r in _seq(_get(profile, "authorizedIPRanges"))]
    return bool(ranges) and "0.0.0.0/0" not in ranges


CONTROLS: tuple[Control, ...] = (
    # EKS
    Control("aws", "secrets envelope encryption", EKS, "encryptionConfig.resources", Has(("secrets",)), policy=EKS_SECRETS),
    Control("aws", "secrets encrypted with a customer KMS key", EKS, "encryptionConfig.provider.keyArn", Matches(r"^arn:aws[-a-z]*:kms:"),
            policy=EKS_SECRETS),
    Control("aws", "KMS key rotation on", "aws:kms/key:Key", "enableKeyRotation", Eq(True)),
    Control("aws", "KMS key rotation period", "aws:kms/key:Key", "rotationPeriodInDays", Eq(field="kms_rotation_days")),
    Control("aws", "NetworkPolicy enforced (VPC CNI network policy agent)", "aws:eks/addon:Addon", "configurationValues",
            Matches(r'"enableNetworkPolicy": "true"'), where=(("addonName", "vpc-cni"),)),
    Control("aws", "KMS key protected from deletion", "aws:kms/key:Key", "$protect", Eq(field="protect_stateful")),
    Control("aws", "control-plane logs", EKS, "enabledClusterLogTypes", Has(("api", "audit", "authenticator")),
            policy="eks-control-plane-logs"),
    Control("aws", "private API endpoint", EKS, "vpcConfig.endpointPrivateAccess", Eq(True), policy=EKS_ENDPOINT),
    Control("aws", "no public API endpoint", EKS, "vpcConfig.endpointPublicAccess", Eq(False), relaxed_by="public_api_endpoint",
            policy=EKS_ENDPOINT),
    Control("aws", "public endpoint never open to the internet", EKS, "vpcConfig",
            Check(_eks_public_closed, "public endpoint off, or `publicAccessCidrs` without `0.0.0.0/0` (AWS: on and open when absent)",
                  {"endpointPrivateAccess": True}), policy=EKS_ENDPOINT),
    Control("aws", "access entries only", EKS, "accessConfig.authenticationMode", Eq("API")),
    Control("aws", "no implicit creator admin", EKS, "accessConfig.bootstrapClusterCreatorAdminPermissions", Eq(False)),
    Control("aws", "admin group access policy", "aws:eks/accessPolicyAssociation:AccessPolicyAssociation", "policyArn",
            Eq(EKS_ADMIN_POLICY), envs=("prod",)),
    Control("aws", "EKS Pod Identity agent", "aws:eks/addon:Addon", "addonName", Eq("eks-pod-identity-agent"),
            where=(("addonName", "eks-pod-identity-agent"),)),
    Control("aws", "IMDSv2 required", "aws:ec2/launchTemplate:LaunchTemplate", "metadataOptions.httpTokens", Eq("required"),
            policy=IMDS),
    Control("aws", "IMDS hop limit", "aws:ec2/launchTemplate:LaunchTemplate", "metadataOptions.httpPutResponseHopLimit",
            Eq(field="imds_hop_limit"), policy=IMDS),
    Control("aws", "node volumes encrypted", "aws:ec2/launchTemplate:LaunchTemplate", "blockDeviceMappings[*].ebs.encrypted", Eq("true")),
    Control("aws", "control-plane log types", EKS, "enabledClusterLogTypes", Eq(field="eks_log_types")),
    Control("aws", "cluster deletion protection", EKS, "deletionProtection", Eq(field="deletion_protection")),
    # AKS
    Control("azure", "Entra ID integration", AKS, "aadProfile.managed", Eq(True), policy=AKS_RBAC),
    Control("azure", "Azure RBAC", AKS, "aadProfile.enableAzureRBAC", Eq(True), policy=AKS_RBAC),
    Control("azure", "Kubernetes RBAC on", AKS, "enableRBAC", Check(lambda v: v in (None, True), "`true` or absent (default on)", False),
            required=False, policy=AKS_RBAC),
    Control("azure", "local accounts disabled", AKS, "disableLocalAccounts", Eq(True), policy="aks-local-accounts-disabled"),
    Control("azure", "private API server, or public to single addresses only", AKS, "apiServerAccessProfile",
            Check(_aks_private_or_hosts, "`enablePrivateCluster`, or `authorizedIPRanges` of /32 addresses only (the fleet's egress)", {}),
            relaxed_by="public_api_endpoint", policy=AKS_API),
    Control("azure", "authorized IP ranges never the internet", AKS, "apiServerAccessProfile.authorizedIPRanges", NoneOf(("0.0.0.0/0",)),
            policy=AKS_API),
    Control("azure", "API server private or limited to authorized ranges", AKS, "apiServerAccessProfile",
            Check(_aks_api_limited, "`enablePrivateCluster` or non-empty `authorizedIPRanges` without `0.0.0.0/0`", {}), policy=AKS_API),
    Control("azure", "network policy engine", AKS, "networkProfile.networkPolicy", Eq("cilium")),
    Control("azure", "Cilium dataplane", AKS, "networkProfile.networkDataplane", Eq("cilium")),
    Control("azure", "Azure CNI overlay", AKS, "networkProfile.networkPluginMode", Eq("overlay")),
    Control("azure", "OIDC issuer", AKS, "oidcIssuerProfile.enabled", Eq(True)),
    Control("azure", "workload identity", AKS, "securityProfile.workloadIdentity.enabled", Eq(True)),
    Control("azure", "etcd KMS (Key Vault)", AKS, "securityProfile.azureKeyVaultKms.enabled", Eq(True), policy=AKS_SECRETS),
    Control("azure", "etcd KMS key", AKS, "securityProfile.azureKeyVaultKms.keyId", Matches(r"^https://.+/keys/"), policy=AKS_SECRETS),
    Control("azure", "Key Vault purge protection", "azure-native:keyvault:Vault", "properties.enablePurgeProtection", Eq(True),
            relaxed_by="key_vault_purge_protection"),
    Control("azure", "Key Vault closed to public networks", "azure-native:keyvault:Vault", "properties.publicNetworkAccess", Eq("Disabled")),
    Control("azure", "KMS over a private key vault", AKS, "securityProfile.azureKeyVaultKms.keyVaultNetworkAccess", Eq("Private"),
            policy=AKS_SECRETS),
    Control("azure", "auto-upgrade channel", AKS, "autoUpgradeProfile.upgradeChannel", Eq(field="aks_upgrade_channel")),
    Control("azure", "node OS upgrade channel", AKS, "autoUpgradeProfile.nodeOSUpgradeChannel", Eq(field="aks_node_os_upgrade_channel")),
    Control("azure", "SKU tier", AKS, "sku.tier", Eq(field="aks_sku_tier")),
    Control("azure", "cluster protected from deletion", AKS, "$protect", Eq(field="deletion_protection")),
    # The fabric's GatewaySubnet holds only the VPN gateway and takes no NSG (Azure VPN gateway FAQ).
    Control("azure", "node subnet has an NSG", "azure-native:network:Subnet", "networkSecurityGroup.id",
            Matches(r"/providers/Microsoft.Network/networkSecurityGroups/"), where=(("subnetName", "nodes"),)),
    # GKE
    Control("gcp", "private nodes", GKE, "privateClusterConfig.enablePrivateNodes", Eq(True), policy="gke-private-nodes"),
    Control("gcp", "private endpoint", GKE, "privateClusterConfig.enablePrivateEndpoint", Eq(True), relaxed_by="public_api_endpoint"),
    Control("gcp", "master authorized networks never the internet", GKE,
            "masterAuthorizedNetworksConfig.cidrBlocks[*].cidrBlock", NoneOf(("0.0.0.0/0",))),
    Control("gcp", "no Google public CIDRs on the API", GKE, "masterAuthorizedNetworksConfig.gcpPublicCidrsAccessEnabled", Eq(False)),
    Control("gcp", "workload identity pool", GKE, "workloadIdentityConfig.workloadPool", Matches(r"\.svc\.id\.goog$"),
            policy=GKE_WI),
    Control("gcp", "GKE metadata server on the default pool", GKE, "nodeConfig",
            Check(lambda v: v is None or _get(v, "workloadMetadataConfig.mode") == "GKE_METADATA",
                  "absent, or `workloadMetadataConfig.mode` = `GKE_METADATA`", {"workloadMetadataConfig": {"mode": "GCE_METADATA"}}),
            required=False, policy=GKE_WI),
    Control("gcp", "Dataplane V2 (network policy)", GKE, "datapathProvider", Eq("ADVANCED_DATAPATH")),
    Control("gcp", "release channel", GKE, "releaseChannel.channel", Eq(field="gke_release_channel")),
    Control("gcp", "secrets encrypted with Cloud KMS", GKE, "databaseEncryption.state", Eq("ENCRYPTED"), policy=GKE_SECRETS),
    Control("gcp", "Cloud KMS key for secrets", GKE, "databaseEncryption.keyName", Matches(r"/cryptoKeys/"), policy=GKE_SECRETS),
    Control("gcp", "Cloud KMS key rotation", "gcp:kms/cryptoKey:CryptoKey", "rotationPeriod", Matches(r"^\d+s$")),
    Control("gcp", "shielded nodes", GKE, "enableShieldedNodes", Eq(True), policy=GKE_SHIELDED),
    Control("gcp", "secure boot", "gcp:container/nodePool:NodePool", "nodeConfig.shieldedInstanceConfig.enableSecureBoot", Eq(True),
            policy=GKE_SHIELDED),
    Control("gcp", "secure boot on the default pool", GKE, "nodeConfig",
            Check(lambda v: v is None or _get(v, "shieldedInstanceConfig.enableSecureBoot") is True,
                  "absent, or `shieldedInstanceConfig.enableSecureBoot` = `true`", {"shieldedInstanceConfig": {"enableSecureBoot": False}}),
            required=False, policy=GKE_SHIELDED),
    Control("gcp", "GKE metadata server on nodes", "gcp:container/nodePool:NodePool", "nodeConfig.workloadMetadataConfig.mode",
            Eq("GKE_METADATA"), policy=GKE_WI),
    Control("gcp", "legacy ABAC off", GKE, "enableLegacyAbac", Eq(False)),
    Control("gcp", "no client certificate (basic auth off)", GKE, "masterAuth.clientCertificateConfig.issueClientCertificate", Eq(False)),
    Control("gcp", "binary authorization", GKE, "binaryAuthorization.evaluationMode", Eq(field="gke_binary_authorization")),
    Control("gcp", "security posture", GKE, "securityPostureConfig.mode", Eq(field="gke_security_posture")),
    Control("gcp", "deletion protection", GKE, "deletionProtection", Eq(field="deletion_protection")),
    # Inside every cluster
    *(
        Control("all", f"`{ns}` namespace: PSS {mode}", NS, f'metadata.labels["pod-security.kubernetes.io/{mode}"]', Eq(level),
                where=(("metadata.name", ns),))
        for ns in APPLICATION_NAMESPACES
        for mode, level in (("enforce", "restricted"), ("audit", "restricted"), ("warn", "restricted"),
                            ("enforce-version", POD_SECURITY_VERSION))
    ),
    *(
        c
        for ns in APPLICATION_NAMESPACES
        for c in (
            Control("all", f"`{ns}`: default deny, ingress and egress", NETPOL, "spec.policyTypes", Has(("Ingress", "Egress")),
                    where=(("metadata.namespace", ns), ("metadata.name", "default-deny"))),
            Control("all", f"`{ns}`: default deny selects every pod", NETPOL, "spec.podSelector", Eq({}),
                    where=(("metadata.namespace", ns), ("metadata.name", "default-deny"))),
            Control("all", f"`{ns}`: default deny allows nothing", NETPOL, "spec.ingress", Absent(),
                    where=(("metadata.namespace", ns), ("metadata.name", "default-deny"))),
            Control("all", f"`{ns}`: egress only to DNS", NETPOL, "spec.egress[*].ports[*].port", Eq(53),
                    where=(("metadata.namespace", ns), ("metadata.name", "allow-dns-egress"))),
        )
    ),
    Control("all", "no ClusterRoleBinding to all users", CRB, "subjects[*].name", NoneOf(BROAD_GROUPS), required=False),
    Control("all", "no RoleBinding to all users", RB, "subjects[*].name", NoneOf(BROAD_GROUPS), required=False),
    Control("all", "no wildcard verbs in fleet Roles", ROLE, "rules[*].verbs", NoneOf(("*",)), required=False),
)

# --- reading a resource ------------------------------------------------------------------------
# A resource is a record {"inputs": props, "protect": bool}: a plan record, or what the engine sends.

_TOKEN = re.compile(r'\.?([A-Za-z0-9_$-]+)|\["([^"]+)"\]|\[(\*)\]')


def parse_path(path: str) -> list[str]:
    out, pos = [], 0
    while pos < len(path):
        m = _TOKEN.match(path, pos)
        if not m:
            raise ValueError(f"bad control path {path!r} at {pos}")
        out.append(m.group(1) or m.group(2) or "*")
        pos = m.end()
    return out


def _plain(value: Any) -> Any:
    """Plain dicts and lists: the pack's props are read-only Mapping/Sequence proxies."""
    if isinstance(value, Mapping):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, Sequence) and not isinstance(value, str):
        return [_plain(v) for v in value]
    return value


def values_at(record: Mapping[str, Any], path: str) -> list[Any]:
    """Every value at ``path`` (several through ``[*]``; ``_MISSING`` where a key is absent)."""
    parts = parse_path(path)
    if parts[0].startswith("$"):
        return [record.get(parts[0][1:], _MISSING)]
    nodes: list[Any] = [record["inputs"]]
    for part in parts:
        nxt: list[Any] = []
        for node in nodes:
            if part == "*":
                nxt += _seq(node) or [_MISSING]
            elif isinstance(node, Mapping):
                nxt.append(node.get(part, _MISSING))
            else:
                nxt.append(_MISSING)
        nodes = nxt
    return [n if n is _MISSING else _plain(n) for n in nodes]


def set_at(record: dict[str, Any], path: str, value: Any) -> None:
    """Overwrite every value at ``path`` (creating missing keys); used to weaken a record in tests."""
    parts = parse_path(path)
    if parts[0].startswith("$"):
        record[parts[0][1:]] = value
        return
    nodes: list[Any] = [record["inputs"]]
    for part in parts[:-1]:
        nxt: list[Any] = []
        for node in nodes:
            if part == "*":
                nxt += node
            else:
                nxt.append(node.setdefault(part, {}))
        nodes = nxt
    for node in nodes:
        if parts[-1] == "*":
            node[:] = [value] * len(node)
        else:
            node[parts[-1]] = value


def _matches(record: Mapping[str, Any], where: Iterable[tuple[str, Any]]) -> bool:
    return all(any(v == want for v in values_at(record, path)) for path, want in where)


def applies(control: Control, environment: str) -> bool:
    """Whether ``control`` is enforced in ``environment`` (not relaxed by its baseline)."""
    relaxed = bool(control.relaxed_by) and getattr(BASELINES[environment], control.relaxed_by) != getattr(PROD, control.relaxed_by)
    return environment in control.envs and not relaxed




def violations(control: Control, resource_type: str, record: Mapping[str, Any], environment: str) -> list[str]:
    """Why one resource breaks ``control`` in ``environment`` (empty when it holds or does not apply)."""
    if resource_type != control.type or not applies(control, environment) or not _matches(record, control.where):
        return []
    base = BASELINES[environment]
    out = []
    for actual in values_at(record, control.path):
        value = None if actual is _MISSING else actual
        if not control.expect.ok(value, base):
            out.append(f"{control.path} is {value!r}, want {control.expect.describe(base)} ({control.what})")
    return out


def environment_of(urn: str, configured: str | None = None) -> str:
    """The environment whose baseline applies: the pack's ``environment`` config when set, else the
    stack's name when it is an environment (``urn:pulumi:<stack>::...``), else the strictest."""
    if configured in BASELINES:
        return configured
    stack = urn.split("::", 1)[0].rsplit(":", 1)[-1] if urn.startswith("urn:pulumi:") else ""
    return stack if stack in BASELINES else "prod"


def by_policy() -> dict[str, tuple[Control, ...]]:
    """The controls grouped by the pack policy they make up, in table order."""
    out: dict[str, list[Control]] = {}
    for c in CONTROLS:
        out.setdefault(c.policy_name, []).append(c)
    return {name: tuple(cs) for name, cs in out.items()}
