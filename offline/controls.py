"""The security controls, one table, checked against the plan record.

Each :class:`Control` names a resource type, a property path in its inputs, and what the value
must be: a constant, or a field of the environment's :class:`~stacks.baseline.Baseline` (so prod
and dev expectations come from the one baseline table). :func:`check_plan` walks every control
over a plan record and returns every violation; the tests run it over the dev and prod plans, and
the README's security section is rendered from this table (:func:`render_markdown`).

Paths: ``a.b.c`` into nested inputs, ``["x/y"]`` for keys with dots or slashes, ``[*]`` for
every item of a list (the expectation must hold for each), and ``$protect`` for the record's
``protect`` flag.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from stacks.baseline import APPLICATION_NAMESPACES, BASELINES, DEV_RELAXES, PROD, Baseline
from stacks.ports import FLEET_PORTS
from stacks.versions import POD_SECURITY_VERSION

from .report import cluster_of

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


EKS = "aws:eks/cluster:Cluster"
AKS = "azure-native:containerservice:ManagedCluster"
GKE = "gcp:container/cluster:Cluster"
NS = "kubernetes:core/v1:Namespace"
NETPOL = "kubernetes:networking.k8s.io/v1:NetworkPolicy"
CRB = "kubernetes:rbac.authorization.k8s.io/v1:ClusterRoleBinding"
RB = "kubernetes:rbac.authorization.k8s.io/v1:RoleBinding"
ROLE = "kubernetes:rbac.authorization.k8s.io/v1:Role"
BROAD_GROUPS = ("system:authenticated", "system:unauthenticated")
EKS_ADMIN_POLICY = "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy"

CONTROLS: tuple[Control, ...] = (
    # EKS
    Control("aws", "secrets envelope encryption", EKS, "encryptionConfig.resources", Has(("secrets",))),
    Control("aws", "secrets encrypted with a customer KMS key", EKS, "encryptionConfig.provider.keyArn", Matches(r"^arn:aws[-a-z]*:kms:")),
    Control("aws", "KMS key rotation on", "aws:kms/key:Key", "enableKeyRotation", Eq(True)),
    Control("aws", "KMS key rotation period", "aws:kms/key:Key", "rotationPeriodInDays", Eq(field="kms_rotation_days")),
    Control("aws", "NetworkPolicy enforced (VPC CNI network policy agent)", "aws:eks/addon:Addon", "configurationValues",
            Matches(r'"enableNetworkPolicy": "true"'), where=(("addonName", "vpc-cni"),)),
    Control("aws", "KMS key protected from deletion", "aws:kms/key:Key", "$protect", Eq(field="protect_stateful")),
    Control("aws", "control-plane logs", EKS, "enabledClusterLogTypes", Has(("api", "audit", "authenticator"))),
    Control("aws", "private API endpoint", EKS, "vpcConfig.endpointPrivateAccess", Eq(True)),
    Control("aws", "no public API endpoint", EKS, "vpcConfig.endpointPublicAccess", Eq(False), relaxed_by="public_api_endpoint"),
    Control("aws", "public endpoint never open to the internet", EKS, "vpcConfig.publicAccessCidrs", NoneOf(("0.0.0.0/0",))),
    Control("aws", "access entries only", EKS, "accessConfig.authenticationMode", Eq("API")),
    Control("aws", "no implicit creator admin", EKS, "accessConfig.bootstrapClusterCreatorAdminPermissions", Eq(False)),
    Control("aws", "admin group access policy", "aws:eks/accessPolicyAssociation:AccessPolicyAssociation", "policyArn",
            Eq(EKS_ADMIN_POLICY), envs=("prod",)),
    Control("aws", "EKS Pod Identity agent", "aws:eks/addon:Addon", "addonName", Eq("eks-pod-identity-agent"),
            where=(("addonName", "eks-pod-identity-agent"),)),
    Control("aws", "IMDSv2 required", "aws:ec2/launchTemplate:LaunchTemplate", "metadataOptions.httpTokens", Eq("required")),
    Control("aws", "IMDS hop limit", "aws:ec2/launchTemplate:LaunchTemplate", "metadataOptions.httpPutResponseHopLimit", Eq(field="imds_hop_limit")),
    Control("aws", "node volumes encrypted", "aws:ec2/launchTemplate:LaunchTemplate", "blockDeviceMappings[*].ebs.encrypted", Eq("true")),
    Control("aws", "control-plane log types", EKS, "enabledClusterLogTypes", Eq(field="eks_log_types")),
    Control("aws", "cluster deletion protection", EKS, "deletionProtection", Eq(field="deletion_protection")),
    # AKS
    Control("azure", "Entra ID integration", AKS, "aadProfile.managed", Eq(True)),
    Control("azure", "Azure RBAC", AKS, "aadProfile.enableAzureRBAC", Eq(True)),
    Control("azure", "local accounts disabled", AKS, "disableLocalAccounts", Eq(True)),
    Control("azure", "private API server", AKS, "apiServerAccessProfile.enablePrivateCluster", Eq(True), relaxed_by="public_api_endpoint"),
    Control("azure", "authorized IP ranges never the internet", AKS, "apiServerAccessProfile.authorizedIPRanges", NoneOf(("0.0.0.0/0",))),
    Control("azure", "network policy engine", AKS, "networkProfile.networkPolicy", Eq("cilium")),
    Control("azure", "Cilium dataplane", AKS, "networkProfile.networkDataplane", Eq("cilium")),
    Control("azure", "Azure CNI overlay", AKS, "networkProfile.networkPluginMode", Eq("overlay")),
    Control("azure", "OIDC issuer", AKS, "oidcIssuerProfile.enabled", Eq(True)),
    Control("azure", "workload identity", AKS, "securityProfile.workloadIdentity.enabled", Eq(True)),
    Control("azure", "etcd KMS (Key Vault)", AKS, "securityProfile.azureKeyVaultKms.enabled", Eq(True)),
    Control("azure", "Key Vault purge protection", "azure-native:keyvault:Vault", "properties.enablePurgeProtection", Eq(True),
            relaxed_by="key_vault_purge_protection"),
    Control("azure", "Key Vault closed to public networks", "azure-native:keyvault:Vault", "properties.publicNetworkAccess", Eq("Disabled")),
    Control("azure", "KMS over a private key vault", AKS, "securityProfile.azureKeyVaultKms.keyVaultNetworkAccess", Eq("Private")),
    Control("azure", "auto-upgrade channel", AKS, "autoUpgradeProfile.upgradeChannel", Eq(field="aks_upgrade_channel")),
    Control("azure", "node OS upgrade channel", AKS, "autoUpgradeProfile.nodeOSUpgradeChannel", Eq(field="aks_node_os_upgrade_channel")),
    Control("azure", "SKU tier", AKS, "sku.tier", Eq(field="aks_sku_tier")),
    Control("azure", "cluster protected from deletion", AKS, "$protect", Eq(field="deletion_protection")),
    Control("azure", "node subnet has an NSG", "azure-native:network:Subnet", "networkSecurityGroup.id",
            Matches(r"/providers/Microsoft.Network/networkSecurityGroups/"), where=(("subnetName", "nodes"),)),
    # GKE
    Control("gcp", "private nodes", GKE, "privateClusterConfig.enablePrivateNodes", Eq(True)),
    Control("gcp", "private endpoint", GKE, "privateClusterConfig.enablePrivateEndpoint", Eq(True), relaxed_by="public_api_endpoint"),
    Control("gcp", "master authorized networks never the internet", GKE,
            "masterAuthorizedNetworksConfig.cidrBlocks[*].cidrBlock", NoneOf(("0.0.0.0/0",))),
    Control("gcp", "no Google public CIDRs on the API", GKE, "masterAuthorizedNetworksConfig.gcpPublicCidrsAccessEnabled", Eq(False)),
    Control("gcp", "workload identity pool", GKE, "workloadIdentityConfig.workloadPool", Matches(r"\.svc\.id\.goog$")),
    Control("gcp", "Dataplane V2 (network policy)", GKE, "datapathProvider", Eq("ADVANCED_DATAPATH")),
    Control("gcp", "release channel", GKE, "releaseChannel.channel", Eq(field="gke_release_channel")),
    Control("gcp", "secrets encrypted with Cloud KMS", GKE, "databaseEncryption.state", Eq("ENCRYPTED")),
    Control("gcp", "Cloud KMS key rotation", "gcp:kms/cryptoKey:CryptoKey", "rotationPeriod", Matches(r"^\d+s$")),
    Control("gcp", "shielded nodes", GKE, "enableShieldedNodes", Eq(True)),
    Control("gcp", "secure boot", "gcp:container/nodePool:NodePool", "nodeConfig.shieldedInstanceConfig.enableSecureBoot", Eq(True)),
    Control("gcp", "GKE metadata server on nodes", "gcp:container/nodePool:NodePool", "nodeConfig.workloadMetadataConfig.mode", Eq("GKE_METADATA")),
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


# --- reading the plan record -------------------------------------------------------------------

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


def values_at(record: dict[str, Any], path: str) -> list[Any]:
    """Every value at ``path`` (several through ``[*]``; ``_MISSING`` where a key is absent)."""
    parts = parse_path(path)
    if parts[0].startswith("$"):
        return [record.get(parts[0][1:], _MISSING)]
    nodes: list[Any] = [record["inputs"]]
    for part in parts:
        nxt: list[Any] = []
        for node in nodes:
            if part == "*":
                nxt += node if isinstance(node, list) else [_MISSING]
            elif isinstance(node, dict):
                nxt.append(node.get(part, _MISSING))
            else:
                nxt.append(_MISSING)
        nodes = nxt
    return nodes


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


def _matches(record: dict[str, Any], where: Iterable[tuple[str, Any]]) -> bool:
    return all(any(v == want for v in values_at(record, path)) for path, want in where)


def applies(control: Control, environment: str) -> bool:
    """Whether ``control`` is enforced in ``environment`` (not relaxed by its baseline)."""
    relaxed = bool(control.relaxed_by) and getattr(BASELINES[environment], control.relaxed_by) != getattr(PROD, control.relaxed_by)
    return environment in control.envs and not relaxed


def check(control: Control, resources: Sequence[dict[str, Any]], clusters: dict[str, str], environment: str) -> list[str]:
    """Violations of one control in a plan record. ``clusters`` maps cluster name -> cloud."""
    if not applies(control, environment):
        return []
    base = BASELINES[environment]
    by_urn = {r["urn"]: r for r in resources}
    seen: set[str] = set()
    errors = []
    for r in resources:
        if r["type"] != control.type or not _matches(r, control.where):
            continue
        cluster = cluster_of(r, by_urn) or "(fleet)"
        seen.add(cluster)
        for actual in values_at(r, control.path):
            shown = None if actual is _MISSING else actual
            if not control.expect.ok(actual if actual is not _MISSING else None, base):
                errors.append(f"{cluster}: {control.what}: {r['name']} {control.path} = {shown!r}, "
                              f"want {control.expect.describe(base)}")
    if control.required:
        want = [n for n, cloud in clusters.items() if control.cloud in ("all", cloud)]
        errors += [f"{n}: {control.what}: no {control.type}" + (f" with {dict(control.where)}" if control.where else "")
                   for n in want if n not in seen]
    return errors


def check_plan(resources: Sequence[dict[str, Any]], clusters: dict[str, str], environment: str,
               controls: Sequence[Control] = CONTROLS) -> list[str]:
    """Every violation of every control over one plan record."""
    return [e for c in controls for e in check(c, resources, clusters, environment)]


# --- the README section ------------------------------------------------------------------------

def _dev_cell(control: Control) -> str:
    from stacks.baseline import DEV

    if control.relaxed_by and not applies(control, "dev"):
        return f"relaxed: `{control.relaxed_by}`"
    if "dev" not in control.envs:
        return "prod only (needs prod config)"
    prod, dev = control.expect.describe(PROD), control.expect.describe(DEV)
    if prod != dev:
        field = getattr(control.expect, "field", None)
        return f"{dev} (relaxed: `{field}`)"
    return "same"


def render_markdown() -> str:
    """The README's security section body: the controls, what dev relaxes, and the fleet ports."""
    lines = ["| Cloud | Control | Resource | Property | prod / staging | dev |", "|---|---|---|---|---|---|"]
    for c in CONTROLS:
        where = "".join(f" ({p}=`{v}`)" for p, v in c.where)
        lines.append(f"| {c.cloud} | {c.what} | `{c.type}`{where} | `{c.path}` | {c.expect.describe(PROD)} | {_dev_cell(c)} |")
    lines += ["", "What dev relaxes (stacks/baseline.py `DEV_RELAXES`), and nothing else:", "",
              "| Baseline field | prod | dev | why |", "|---|---|---|---|"]
    for name, (value, why) in DEV_RELAXES.items():
        lines.append(f"| `{name}` | `{_fmt(getattr(PROD, name))}` | `{_fmt(value)}` | {why} |")
    lines += ["", "Ports between clusters (stacks/ports.py), opened only from the other clusters' VPC and pod ranges:", "",
              "| Port | Protocol | Scope | Purpose |", "|---|---|---|---|"]
    for p in FLEET_PORTS:
        lines.append(f"| {p.port} | {p.protocol} | {p.scope} | {p.purpose} |")
    return "\n".join(lines)




if __name__ == "__main__":  # python -m offline.controls > paste into README's security-baseline section
    print(render_markdown())
