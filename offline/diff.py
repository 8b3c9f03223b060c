"""A credential-free plan diff: two plan records (``plan --json``) in, Markdown out.

Resources are matched by URN and grouped by the cluster they belong to (``report.cluster_of``).
Changed resources list each changed property path with its old and new value; masked secrets
stay ``[secret]``. A change to a property the provider cannot update in place is a replacement
and is flagged loudly: for a cluster, a replacement means a new, empty cluster.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from .mocks import MASK
from .report import CLUSTER_COMPONENTS, cluster_of, engine_urn, is_component, previous_urns

FLEET = "(fleet)"
VALUE_WIDTH = 80

# Properties whose change replaces the resource, per type (path prefixes). Sources: the providers'
# resource documentation (Terraform ForceNew attributes behind pulumi-aws and pulumi-gcp; Azure
# Resource Manager path parameters and immutable AKS network settings; Kubernetes object identity).
REPLACE_ON: dict[str, tuple[str, ...]] = {
    "aws:eks/cluster:Cluster": (
        "name", "roleArn", "kubernetesNetworkConfig.serviceIpv4Cidr", "kubernetesNetworkConfig.ipFamily",
        "encryptionConfig.provider.keyArn", "bootstrapSelfManagedAddons",
        "accessConfig.bootstrapClusterCreatorAdminPermissions", "outpostConfig",
    ),
    "aws:eks/nodeGroup:NodeGroup": (
        "clusterName", "nodeGroupName", "nodeGroupNamePrefix", "nodeRoleArn", "subnetIds", "instanceTypes",
        "capacityType", "amiType", "diskSize", "remoteAccess",
    ),
    "aws:eks/addon:Addon": ("clusterName", "addonName"),
    "aws:eks/accessEntry:AccessEntry": ("clusterName", "principalArn", "type"),
    "aws:eks/podIdentityAssociation:PodIdentityAssociation": ("clusterName", "namespace", "serviceAccount"),
    "aws:ec2/vpc:Vpc": ("cidrBlock", "ipv4IpamPoolId", "instanceTenancy"),
    "aws:ec2/vpcIpv4CidrBlockAssociation:VpcIpv4CidrBlockAssociation": ("cidrBlock", "vpcId"),
    "aws:ec2/subnet:Subnet": ("cidrBlock", "vpcId", "availabilityZone", "availabilityZoneId"),
    "aws:ec2/natGateway:NatGateway": ("subnetId", "allocationId", "connectivityType"),
    "aws:ec2/launchTemplate:LaunchTemplate": ("name", "namePrefix"),
    "aws:iam/role:Role": ("name", "namePrefix", "path"),
    "aws:kms/key:Key": ("customerMasterKeySpec", "keyUsage", "multiRegion"),
    "aws:kms/alias:Alias": ("name", "namePrefix"),
    "aws:cloudwatch/logGroup:LogGroup": ("name", "namePrefix"),
    "aws:s3/bucket:Bucket": ("bucket", "bucketPrefix", "objectLockEnabled"),
    "azure-native:containerservice:ManagedCluster": (
        "resourceName", "dnsPrefix", "networkProfile.podCidr", "networkProfile.serviceCidr",
        "networkProfile.dnsServiceIP", "networkProfile.networkPlugin", "networkProfile.networkPluginMode",
        "agentPoolProfiles[0].vnetSubnetID",
    ),
    "azure-native:network:VirtualNetwork": ("virtualNetworkName",),
    "azure-native:network:Subnet": ("subnetName", "virtualNetworkName"),
    "azure-native:keyvault:Vault": ("vaultName",),
    "azure-native:keyvault:Key": ("keyName", "vaultName"),
    "azure-native:storage:StorageAccount": ("accountName",),
    "gcp:container/cluster:Cluster": (
        "name", "location", "network", "subnetwork", "networkingMode", "ipAllocationPolicy",
        "privateClusterConfig.masterIpv4CidrBlock", "clusterIpv4Cidr", "initialNodeCount", "nodeConfig",
        "enableAutopilot", "datapathProvider", "defaultMaxPodsPerNode",
    ),
    "gcp:container/nodePool:NodePool": (
        "name", "cluster", "location", "maxPodsPerNode", "networkConfig", "nodeConfig.machineType",
        "nodeConfig.diskSizeGb", "nodeConfig.diskType", "nodeConfig.serviceAccount", "nodeConfig.oauthScopes",
    ),
    "gcp:compute/network:Network": ("name", "autoCreateSubnetworks"),
    # ipCidrRange may only widen in place; any other change (the address plan moving) recreates it.
    "gcp:compute/subnetwork:Subnetwork": ("name", "network", "region", "ipCidrRange"),
    "gcp:kms/keyRing:KeyRing": ("name", "location"),
    "gcp:kms/cryptoKey:CryptoKey": ("name", "keyRing", "purpose"),
    "gcp:storage/bucket:Bucket": ("name", "location", "project"),
    "gcp:serviceaccount/account:Account": ("accountId", "project"),
    "kubernetes:helm.sh/v3:Release": ("name", "namespace"),
    # -- the rest of the types the program registers (the table is exhaustive: a test fails when
    # the plan registers a type that is not listed here). Empty = nothing forces replacement. --
    "aws:cloudwatch/eventRule:EventRule": ("name", "namePrefix", "eventBusName"),
    "aws:cloudwatch/eventTarget:EventTarget": ("rule", "targetId", "eventBusName"),
    "aws:ec2/eip:Eip": ("address", "customerOwnedIpv4Pool", "domain", "networkBorderGroup", "publicIpv4Pool", "ipamPoolId"),
    "aws:ec2/internetGateway:InternetGateway": (),
    "aws:ec2/routeTable:RouteTable": ("vpcId",),
    "aws:ec2/routeTableAssociation:RouteTableAssociation": ("subnetId", "gatewayId"),
    "aws:ec2/tag:Tag": ("resourceId", "key"),
    # Every argument but the description is ForceNew (terraform-provider-aws
    # internal/service/ec2/vpc_security_group_rule.go): a changed CIDR list replaces the rule.
    "aws:ec2/securityGroupRule:SecurityGroupRule": (
        "type", "securityGroupId", "protocol", "fromPort", "toPort", "cidrBlocks", "ipv6CidrBlocks",
        "prefixListIds", "sourceSecurityGroupId", "self",
    ),
    # Only the group is RequiresReplace (internal/service/ec2/vpc_security_group_ingress_rule.go);
    # the rest is modified in place (ModifySecurityGroupRules).
    "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule": ("securityGroupId",),
    "aws:eks/accessPolicyAssociation:AccessPolicyAssociation": ("clusterName", "principalArn", "policyArn", "accessScope"),
    "aws:iam/openIdConnectProvider:OpenIdConnectProvider": ("url",),
    # aws_route53_zone / aws_route53_health_check ForceNew attributes.
    "aws:route53/zone:Zone": ("name", "delegationSetId"),
    "aws:route53/healthCheck:HealthCheck": ("type", "requestInterval", "measureLatency", "referenceName", "routingControlArn"),
    "aws:iam/rolePolicy:RolePolicy": ("name", "namePrefix", "role"),
    "aws:iam/rolePolicyAttachment:RolePolicyAttachment": ("role", "policyArn"),
    "aws:s3/bucketOwnershipControls:BucketOwnershipControls": ("bucket",),
    "aws:s3/bucketPolicy:BucketPolicy": ("bucket",),
    "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock": ("bucket",),
    "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration": ("bucket", "expectedBucketOwner"),
    "aws:s3/bucketVersioning:BucketVersioning": ("bucket", "expectedBucketOwner"),
    "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration": ("bucket", "expectedBucketOwner"),
    "azure-native:storage:ManagementPolicy": ("accountName", "managementPolicyName"),
    "aws:sqs/queue:Queue": ("name", "namePrefix", "fifoQueue"),
    "aws:sqs/queuePolicy:QueuePolicy": ("queueUrl",),
    # Role assignments are immutable in Azure RBAC: a new principal, role or scope is a new assignment.
    "azure-native:authorization:RoleAssignment": ("roleAssignmentName", "scope", "principalId", "roleDefinitionId"),
    "azure-native:managedidentity:FederatedIdentityCredential": ("resourceName", "federatedIdentityCredentialResourceName"),
    "azure-native:managedidentity:UserAssignedIdentity": ("resourceName",),
    "azure-native:network:NatGateway": ("natGatewayName",),
    "azure-native:network:NetworkSecurityGroup": ("networkSecurityGroupName",),
    "azure-native:network:PublicIPAddress": ("publicIpAddressName", "sku"),
    "azure-native:network:SecurityRule": ("securityRuleName", "networkSecurityGroupName"),
    "azure-native:resources:ResourceGroup": ("resourceGroupName",),
    "azure-native:storage:BlobContainer": ("containerName", "accountName"),
    "azure-native:storage:BlobServiceProperties": ("accountName", "blobServicesName"),
    # google_compute_address: every argument but labels forces a new address (terraform-provider-google).
    "gcp:compute/address:Address": ("name", "region", "project", "address", "addressType", "networkTier", "purpose",
                                    "subnetwork", "description", "ipVersion", "prefixLength"),
    "gcp:compute/firewall:Firewall": ("name", "network", "direction", "project"),
    "gcp:compute/router:Router": ("name", "network", "region", "project"),
    "gcp:compute/routerNat:RouterNat": ("name", "router", "region", "project"),
    "gcp:iam/workloadIdentityPool:WorkloadIdentityPool": ("workloadIdentityPoolId", "project"),
    "gcp:iam/workloadIdentityPoolProvider:WorkloadIdentityPoolProvider": (
        "workloadIdentityPoolId", "workloadIdentityPoolProviderId", "project"),
    # IAM members are bindings: every argument identifies one.
    "gcp:kms/cryptoKeyIAMMember:CryptoKeyIAMMember": ("cryptoKeyId", "role", "member", "condition"),
    "gcp:projects/iAMMember:IAMMember": ("project", "role", "member", "condition"),
    "gcp:serviceaccount/iAMMember:IAMMember": ("serviceAccountId", "role", "member", "condition"),
    "gcp:storage/bucketIAMMember:BucketIAMMember": ("bucket", "role", "member", "condition"),
    # random and tls keep no remote state: every input is RequiresReplace (hashicorp/terraform-provider-tls
    # internal/provider/resource_*.go; terraform-provider-random resource_password.go).
    "random:index/randomPassword:RandomPassword": (
        "length", "special", "upper", "lower", "numeric", "minLower", "minUpper", "minNumeric", "minSpecial",
        "overrideSpecial", "keepers"),
    "random:index/randomId:RandomId": ("byteLength", "prefix", "keepers"),
    "random:index/randomString:RandomString": (
        "length", "special", "upper", "lower", "numeric", "minLower", "minUpper", "minNumeric", "minSpecial",
        "overrideSpecial", "keepers"),
    # hashicorp/terraform-provider-time internal/provider/resource_time_sleep.go: only triggers replace.
    "time:index/sleep:Sleep": ("triggers",),
    "aws:iam/serviceLinkedRole:ServiceLinkedRole": ("awsServiceName", "customSuffix"),
    "azure-native:containerservice:MaintenanceConfiguration": ("configName", "resourceName"),
    "tls:index/privateKey:PrivateKey": ("algorithm", "rsaBits", "ecdsaCurve"),
    "tls:index/certRequest:CertRequest": ("privateKeyPem", "subject", "dnsNames", "ipAddresses", "uris"),
    "tls:index/selfSignedCert:SelfSignedCert": (
        "privateKeyPem", "subject", "validityPeriodHours", "allowedUses", "isCaCertificate", "dnsNames",
        "ipAddresses", "uris", "setSubjectKeyId", "setAuthorityKeyId"),
    "tls:index/locallySignedCert:LocallySignedCert": (
        "certRequestPem", "caPrivateKeyPem", "caCertPem", "validityPeriodHours", "allowedUses", "isCaCertificate",
        "setSubjectKeyId"),
    # The network fabric (components/network/fabric.py) and the deployer runner (ForceNew
    # attributes of the Terraform providers behind pulumi-aws/pulumi-gcp; ARM path parameters).
    "aws:ec2/route:Route": ("routeTableId", "destinationCidrBlock", "destinationIpv6CidrBlock", "destinationPrefixListId"),
    "aws:ec2/securityGroup:SecurityGroup": ("name", "namePrefix", "vpcId", "description"),
    "aws:ec2transitgateway/transitGateway:TransitGateway": ("amazonSideAsn",),
    "aws:ec2transitgateway/vpcAttachment:VpcAttachment": ("transitGatewayId", "vpcId"),
    "aws:ec2transitgateway/peeringAttachment:PeeringAttachment": ("transitGatewayId", "peerTransitGatewayId", "peerRegion", "peerAccountId"),
    "aws:ec2transitgateway/peeringAttachmentAccepter:PeeringAttachmentAccepter": ("transitGatewayAttachmentId",),
    "aws:ec2transitgateway/route:Route": ("destinationCidrBlock", "transitGatewayRouteTableId"),
    "aws:ec2/customerGateway:CustomerGateway": ("bgpAsn", "bgpAsnExtended", "ipAddress", "type", "certificateArn", "deviceName"),
    "aws:ec2/vpnConnection:VpnConnection": (
        "type", "staticRoutesOnly", "tunnel1InsideCidr", "tunnel2InsideCidr", "localIpv4NetworkCidr", "remoteIpv4NetworkCidr",
        "outsideIpAddressType", "tunnelInsideIpVersion", "transportTransitGatewayAttachmentId", "enableAcceleration",
    ),
    "aws:codebuild/project:Project": ("name",),
    "aws:codebuild/webhook:Webhook": ("projectName",),
    "aws:codestarconnections/connection:Connection": ("name", "providerType", "hostArn"),
    "azure-native:network:VirtualNetworkGateway": ("resourceGroupName", "virtualNetworkGatewayName", "location"),
    "azure-native:network:LocalNetworkGateway": ("resourceGroupName", "localNetworkGatewayName", "location"),
    # The connection protocol cannot change after creation (Azure VPN gateway FAQ).
    "azure-native:network:VirtualNetworkGatewayConnection": (
        "resourceGroupName", "virtualNetworkGatewayConnectionName", "location", "connectionProtocol"),
    "azure-native:network:VirtualNetworkPeering": ("resourceGroupName", "virtualNetworkName", "virtualNetworkPeeringName"),
    "gcp:compute/haVpnGateway:HaVpnGateway": ("name", "network", "region", "stackType", "gatewayIpVersion"),
    "gcp:compute/externalVpnGateway:ExternalVpnGateway": ("name", "redundancyType", "interfaces"),
    "gcp:compute/vPNTunnel:VPNTunnel": (
        "name", "region", "vpnGateway", "vpnGatewayInterface", "peerExternalGateway", "peerExternalGatewayInterface",
        "sharedSecret", "router", "ikeVersion"),
    "gcp:compute/routerInterface:RouterInterface": ("name", "router", "region", "ipRange", "vpnTunnel"),
    "gcp:compute/routerPeer:RouterPeer": ("name", "router", "region", "interface"),
    "gcp:compute/networkPeering:NetworkPeering": ("name", "network", "peerNetwork"),
}
# Provider resources: a changed region, subscription or project points every resource of the
# provider somewhere else; a changed kubeconfig is the same cluster with new credentials.
PROVIDER_REPLACE_ON: dict[str, tuple[str, ...]] = {
    "pulumi:providers:aws": ("region",),
    "pulumi:providers:azure-native": ("subscriptionId", "location"),
    "pulumi:providers:gcp": ("project", "region"),
    "pulumi:providers:kubernetes": (),
    "pulumi:providers:random": (),
    "pulumi:providers:tls": (),
    "pulumi:providers:time": (),
}
# Every Azure resource lives at a path: moving it to another group or region recreates it.
AZURE_REPLACE_ON = ("resourceGroupName", "location")
# A Kubernetes object's identity is its name and namespace.
K8S_REPLACE_ON = ("metadata.name", "metadata.namespace")


def replace_paths(typ: str) -> tuple[str, ...]:
    paths = REPLACE_ON.get(typ, PROVIDER_REPLACE_ON.get(typ, ()))
    if typ.startswith("azure-native:"):
        paths += AZURE_REPLACE_ON
    if typ.startswith("kubernetes:") and typ != "kubernetes:helm.sh/v3:Release":
        paths += K8S_REPLACE_ON
    return paths


def forces_replacement(typ: str, path: str) -> bool:
    return any(path == p or path.startswith((p + ".", p + "[")) for p in replace_paths(typ))


# --- property diff --------------------------------------------------------------------------

_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def _join(prefix: str, key: str) -> str:
    if _IDENT.match(key):
        return f"{prefix}.{key}" if prefix else key
    return f"{prefix}[{json.dumps(key)}]"


def _scalar_list(v: Any) -> bool:
    return isinstance(v, list) and all(not isinstance(x, (dict, list)) for x in v)


def property_changes(old: Any, new: Any, path: str = "") -> list[tuple[str, Any, Any]]:
    """(path, old, new) for every leaf that differs; lists of scalars compare whole."""
    if old == new:
        return []
    if isinstance(old, dict) and isinstance(new, dict):
        out: list[tuple[str, Any, Any]] = []
        for key in sorted(set(old) | set(new)):
            if key.startswith("__"):
                continue  # engine bookkeeping (e.g. __defaults), not a property
            out += property_changes(old.get(key), new.get(key), _join(path, key))
        return out
    if isinstance(old, list) and isinstance(new, list) and not (_scalar_list(old) and _scalar_list(new)):
        out = []
        for i in range(max(len(old), len(new))):
            out += property_changes(old[i] if i < len(old) else None, new[i] if i < len(new) else None, f"{path}[{i}]")
        return out
    return [(path, old, new)]


def show(value: Any) -> str:
    """A value for a Markdown table cell: compact JSON, secrets as [secret], long values cut."""
    if value is None:
        return "—"
    if value == MASK:
        return "`[secret]`"
    text = value if isinstance(value, str) else json.dumps(value, sort_keys=True, separators=(", ", ": "))
    if isinstance(value, str) and "\n" in value:
        text = text.replace("\n", "⏎")
    if len(text) > VALUE_WIDTH:
        text = text[: VALUE_WIDTH - 1] + "…"
    return "`" + text.replace("`", "'").replace("|", "\\|") + "`"


# --- the diff ---------------------------------------------------------------------------------

@dataclass
class Change:
    record: dict[str, Any]
    props: list[tuple[str, Any, Any]]
    replace_by: list[str]

    @property
    def replaces(self) -> bool:
        return bool(self.replace_by)


@dataclass
class ClusterDiff:
    name: str
    added: list[dict[str, Any]] = field(default_factory=list)
    removed: list[dict[str, Any]] = field(default_factory=list)
    changed: list[Change] = field(default_factory=list)
    status: str = ""  # "new cluster" / "cluster removed"

    def empty(self) -> bool:
        return not (self.added or self.removed or self.changed)


@dataclass
class PlanDiff:
    stack: str
    clusters: list[ClusterDiff]

    def counts(self) -> dict[str, int]:
        return {
            "add": sum(len(c.added) for c in self.clusters),
            "change": sum(len(c.changed) for c in self.clusters),
            "replace": sum(1 for c in self.clusters for ch in c.changed if ch.replaces),
            "delete": sum(len(c.removed) for c in self.clusters),
        }


def _clusters(records: Iterable[Mapping[str, Any]]) -> list[str]:
    return [r["name"] for r in records if is_component(r, CLUSTER_COMPONENTS)]


def same_provider(before: str | None, after: str | None, base_by_urn: dict[str, dict[str, Any]],
                  head_by_urn: dict[str, dict[str, Any]]) -> bool:
    """Whether two provider references name one provider: equal, or the new provider answers to
    the old one's URN through its aliases (or its parent's). The engine then diffs nothing for the
    resources it manages (pulumi/pulumi pkg/resource/deploy/step_generator.go ``providerChanged``:
    "observed an aliased provider"); a provider that moved without an alias is a new provider."""
    if before == after:
        return True
    old, new = base_by_urn.get(before or ""), head_by_urn.get(after or "")
    if old is None or new is None:
        return False
    return engine_urn(old, base_by_urn) in previous_urns(new, head_by_urn)


def diff_records(base: Mapping[str, Any], head: Mapping[str, Any]) -> PlanDiff:
    """Compare two plan records (the ``--json`` documents). Resources are matched by the URN the
    engine gives them; a head resource whose aliases (or its parent's) name a base URN is the same
    resource, moved, as the engine treats it."""
    base_by_urn = {r["urn"]: r for r in base["resources"]}
    head_by_urn = {r["urn"]: r for r in head["resources"]}
    old = {engine_urn(r, base_by_urn): r for r in base["resources"]}
    new: dict[str, dict[str, Any]] = {}
    for r in head["resources"]:
        known = [u for u in sorted(previous_urns(r, head_by_urn)) if u in old]
        new[known[0] if known else engine_urn(r, head_by_urn)] = r
    groups: dict[str, ClusterDiff] = {}

    def group(name: str | None) -> ClusterDiff:
        key = name or FLEET
        return groups.setdefault(key, ClusterDiff(key))

    for urn, r in new.items():
        if urn not in old:
            group(cluster_of(r, head_by_urn)).added.append(r)
            continue
        before = old[urn]
        props = property_changes(before.get("inputs") or {}, r.get("inputs") or {})
        replace_by = [p for p, _, _ in props if forces_replacement(r["type"], p)]
        if not same_provider(before.get("provider"), r.get("provider"), base_by_urn, head_by_urn):
            props.append(("(provider)", before.get("provider"), r.get("provider")))
            replace_by.append("(provider)")
        if before.get("protect") != r.get("protect"):
            props.append(("(protect)", before.get("protect"), r.get("protect")))
        if props:
            group(cluster_of(r, head_by_urn)).changed.append(Change(r, props, replace_by))
    for urn, r in old.items():
        if urn not in new:
            group(cluster_of(r, base_by_urn)).removed.append(r)

    base_clusters, head_clusters = set(_clusters(base_by_urn.values())), set(_clusters(head_by_urn.values()))
    for g in groups.values():
        if g.name in head_clusters - base_clusters:
            g.status = "new cluster"
        elif g.name in base_clusters - head_clusters:
            g.status = "cluster removed"
    order = _clusters(head_by_urn.values()) + sorted(base_clusters - head_clusters) + [FLEET]
    ordered = [groups[n] for n in dict.fromkeys(order) if n in groups and not groups[n].empty()]
    return PlanDiff(stack=str(head.get("stack") or base.get("stack") or "?"), clusters=ordered)


def _label(r: Mapping[str, Any]) -> str:
    return f"`{r['type']}` **{r['name']}**"


def render(d: PlanDiff, *, base_label: str = "base", head_label: str = "head") -> str:
    n = d.counts()
    lines = [f"### Plan diff: stack `{d.stack}` ({base_label} → {head_label})", ""]
    if not d.clusters:
        return "\n".join(lines + ["No changes.", ""])
    lines.append(f"**{n['add']} to add, {n['change']} to change ({n['replace']} replaced), {n['delete']} to delete**")
    lines.append("")
    replaced = [(c.name, ch) for c in d.clusters for ch in c.changed if ch.replaces]
    if replaced:
        lines += ["> [!CAUTION]", f"> **{len(replaced)} resource(s) will be REPLACED** (deleted and created again):"]
        lines += [f"> - `{name}`: {_label(ch.record)} because of {', '.join(f'`{p}`' for p in ch.replace_by)}"
                  for name, ch in replaced]
        lines.append("")
    for c in d.clusters:
        status = f" — **{c.status}**" if c.status else ""
        title = "Fleet-wide" if c.name == FLEET else f"Cluster `{c.name}`"
        lines += [f"#### {title}{status}", ""]
        if c.added:
            lines.append(f"Added ({len(c.added)}):")
            lines += [f"- ➕ {_label(r)}" for r in sorted(c.added, key=lambda r: (r["type"], r["name"]))]
            lines.append("")
        if c.changed:
            lines.append(f"Changed ({len(c.changed)}):")
            lines.append("")
            for ch in sorted(c.changed, key=lambda ch: (not ch.replaces, ch.record["type"], ch.record["name"])):
                flag = " — 🔴 **REPLACE**" if ch.replaces else ""
                lines += [f"- ✏️ {_label(ch.record)}{flag}", "",
                          "  | property | old | new |", "  | --- | --- | --- |"]
                for path, a, b in ch.props:
                    mark = " ⚠️ forces replacement" if path in ch.replace_by else ""
                    lines.append(f"  | `{path}`{mark} | {show(a)} | {show(b)} |")
                lines.append("")
        if c.removed:
            lines.append(f"Removed ({len(c.removed)}):")
            lines += [f"- ➖ {_label(r)}" for r in sorted(c.removed, key=lambda r: (r["type"], r["name"]))]
            lines.append("")
    return "\n".join(lines)


def command(base_file: str, head_file: str, base_label: str | None = None, head_label: str | None = None) -> int:
    """``python -m offline diff BASE.json HEAD.json``: print the Markdown diff."""
    from pathlib import Path

    base = json.loads(Path(base_file).read_text())
    head = json.loads(Path(head_file).read_text())
    print(render(diff_records(base, head), base_label=base_label or "base", head_label=head_label or "head"))
    return 0
