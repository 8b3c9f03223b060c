"""The mock engine shared by the tests and the offline plan.

:class:`FleetMocks` answers resource registrations and invokes with realistic, deterministic
outputs per resource type (ARNs, endpoints, CA data, OIDC issuer URLs, tokens, real TLS keys and
certificates). :class:`RecordingMonitor` writes the *plan record*: one entry per registered
resource with its urn, type, name, parent, provider, dependencies and inputs, secrets masked.
Everything the plan command prints or writes reads that record.
"""

from __future__ import annotations

import base64
import hashlib
import uuid
from collections.abc import Callable
from typing import Any

import pulumi
from google.protobuf import json_format
from pulumi.runtime.mocks import MockCallArgs, MockMonitor, MockResourceArgs

from components.tokens import PACKAGE_NAME as PROJECT_PACKAGE

from . import pki

SECRET_SIG_KEY = "4dabf18193072939515e22adb298388d"
SECRET_SIG_VALUE = "1b47061264138c4ac30d75fd1eb44270"
UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"
MASK = "[secret]"
ACCOUNT = "123456789012"
SUBSCRIPTION = "00000000-0000-4000-8000-000000000001"
TENANT = "00000000-0000-4000-8000-0000000000aa"


def _hex(*parts: str, n: int = 17) -> str:
    return hashlib.sha256("/".join(parts).encode()).hexdigest()[:n]


def _guid(*parts: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_DNS, "/".join(parts)))


def mask_secrets(value: Any) -> Any:
    """Replace every secret-wrapped value in deserialized RPC data with ``[secret]``, and give
    integral numbers back their int type (protobuf Structs carry every number as a double), so
    readers of the plan record compare and validate numbers as the program wrote them."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        if value.get(SECRET_SIG_KEY) == SECRET_SIG_VALUE:
            return MASK
        return {k: mask_secrets(v) for k, v in value.items()}
    if isinstance(value, list):
        return [mask_secrets(v) for v in value]
    if value == UNKNOWN:
        return "[unknown]"
    return value


def _region_of(args: MockResourceArgs) -> str:
    return str(args.inputs.get("region") or args.inputs.get("location") or "us-east-1")


# --- outputs per resource type --------------------------------------------------------------

def _aws_region(a: MockResourceArgs | MockCallArgs) -> str:
    """AWS resources and invokes take their region from the provider, named ``aws-<region>`` by the program."""
    provider = getattr(a, "provider", None) or ""
    if "::aws-" in provider:
        return provider.split("::")[-2].removeprefix("aws-")
    return "us-east-1"


def _eks_cluster(a: MockResourceArgs) -> dict[str, Any]:
    name = a.inputs.get("name", a.name)
    region = _aws_region(a)
    h = _hex(name, n=32).upper()
    vpc = dict(a.inputs.get("vpcConfig") or {})
    vpc["clusterSecurityGroupId"] = f"sg-{_hex(name, 'cluster-sg')}"
    vpc["vpcId"] = f"vpc-{_hex(name, 'vpc')}"
    return {
        "arn": f"arn:aws:eks:{region}:{ACCOUNT}:cluster/{name}",
        "endpoint": f"https://{h}.gr7.{region}.eks.amazonaws.com",
        "certificateAuthority": {"data": pki.cluster_ca_b64(name)},
        "identities": [{"oidcs": [{"issuer": f"https://oidc.eks.{region}.amazonaws.com/id/{h}"}]}],
        "vpcConfig": vpc,
        "status": "ACTIVE",
        "platformVersion": "eks.1",
    }


def _aks_cluster(a: MockResourceArgs) -> dict[str, Any]:
    name = a.inputs.get("resourceName", a.name)
    region = a.inputs.get("location", "westeurope")
    identity = dict(a.inputs.get("identity") or {})
    # Inputs list user-assigned identity ids; the resource's state maps each id to its details.
    identity["userAssignedIdentities"] = {
        i: {"principalId": _guid(i, "principal"), "clientId": _guid(i, "client")} for i in identity.get("userAssignedIdentities") or []
    }
    return {
        "identity": identity,
        "fqdn": f"{name}-{_hex(name, n=8)}.hcp.{region}.azmk8s.io",
        "privateFQDN": f"{name}-{_hex(name, n=8)}.privatelink.{region}.azmk8s.io",
        "oidcIssuerProfile": {"enabled": True, "issuerURL": f"https://{region}.oic.prod-aks.azure.com/{TENANT}/{_guid(name)}/"},
        "nodeResourceGroup": f"MC_rg-{name}_{name}_{region}",
        "name": name,
    }


def _gke_cluster(a: MockResourceArgs) -> dict[str, Any]:
    name = a.inputs.get("name", a.name)
    n = int(_hex(name, n=4), 16)
    private = a.inputs.get("privateClusterConfig") or {}
    endpoint = f"34.{n % 250}.{(n // 250) % 250}.{n % 97 + 2}"
    if private.get("enablePrivateEndpoint") and private.get("masterIpv4CidrBlock"):
        # A private-endpoint cluster reports its private IP, from the control-plane range.
        import ipaddress

        endpoint = str(ipaddress.IPv4Network(private["masterIpv4CidrBlock"]).network_address + 2)
    return {
        "endpoint": endpoint,
        "masterAuth": {**(a.inputs.get("masterAuth") or {}), "clusterCaCertificate": pki.cluster_ca_b64(name)},
        "selfLink": f"https://container.googleapis.com/v1/projects/mock-project/locations/x/clusters/{name}",
    }


def _named_arn(service: str, kind: str) -> Callable[[MockResourceArgs], dict[str, Any]]:
    def out(a: MockResourceArgs) -> dict[str, Any]:
        name = a.inputs.get("name") or f"{a.name}-{_hex(a.name, n=7)}"
        return {"arn": f"arn:aws:{service}::{ACCOUNT}:{kind}/{name}", "name": name}

    return out


def _password(name: str, length: int) -> str:
    """As long as asked for: the name's hash, continued with hashes of ``name/1``, ``name/2``..."""
    out, i = base64.b64encode(hashlib.sha256(name.encode()).digest()).decode(), 1
    while len(out) < length:
        out += base64.b64encode(hashlib.sha256(f"{name}/{i}".encode()).digest()).decode().rstrip("=")
        i += 1
    return out[:length]


def azure_own_name(a: MockResourceArgs) -> str:
    """The resource's own name, as azure-native returns it in ``name``: the input named after the
    kind (``vaultName`` for Vault, ``keyName`` for Key, ``virtualNetworkName``...), not a parent's
    (a Key's ``vaultName``, a MaintenanceConfiguration's ``resourceName``)."""
    kind = a.typ.split(":")[-1]
    own = kind[:1].lower() + kind[1:]
    for key in (f"{own}Name", f"{own}ResourceName", "configName", "containerName", "accountName"):
        if isinstance(a.inputs.get(key), str):
            return a.inputs[key]
    return str(a.inputs.get("resourceName") or a.name)


def _azure_resource(a: MockResourceArgs) -> dict[str, Any]:
    _, module, kind = a.typ.split(":")
    name = azure_own_name(a)
    rg = a.inputs.get("resourceGroupName", "rg")
    if a.typ == "azure-native:network:Subnet":
        # Child resource: ARM nests it under its virtual network (AKSNodeClass validates the shape).
        vnet = a.inputs.get("virtualNetworkName", "vnet")
        return {"name": name, "id": f"/subscriptions/{SUBSCRIPTION}/resourceGroups/{rg}/providers/Microsoft.Network/virtualNetworks/{vnet}/subnets/{name}"}
    if kind == "ResourceGroup":
        name = a.inputs.get("resourceGroupName") or name  # the group's own name is its resourceGroupName
        return {"name": name, "id": f"/subscriptions/{SUBSCRIPTION}/resourceGroups/{name}"}
    namespace = AZURE_NAMESPACES.get(module, module[:1].upper() + module[1:])
    plural = kind[:1].lower() + kind[1:]
    plural = plural[:-1] + "ies" if plural.endswith("y") else plural + "s"
    return {"name": name, "id": f"/subscriptions/{SUBSCRIPTION}/resourceGroups/{rg}/providers/Microsoft.{namespace}/{plural}/{name}"}


# Resource provider namespaces as ARM ids spell them.
AZURE_NAMESPACES = {
    "containerservice": "ContainerService", "network": "Network", "keyvault": "KeyVault", "storage": "Storage",
    "managedidentity": "ManagedIdentity", "authorization": "Authorization", "resources": "Resources",
}


OUTPUTS: dict[str, Callable[[MockResourceArgs], dict[str, Any]]] = {
    "aws:eks/cluster:Cluster": _eks_cluster,
    "aws:iam/role:Role": _named_arn("iam", "role"),
    "aws:iam/policy:Policy": _named_arn("iam", "policy"),
    "aws:kms/key:Key": lambda a: {"arn": f"arn:aws:kms:{_aws_region(a)}:{ACCOUNT}:key/{_guid(a.name)}", "keyId": _guid(a.name)},
    "aws:ec2/launchTemplate:LaunchTemplate": lambda a: {"latestVersion": 1, "arn": f"arn:aws:ec2:::launch-template/lt-{_hex(a.name)}"},
    "aws:sqs/queue:Queue": lambda a: {
        "arn": f"arn:aws:sqs:{_aws_region(a)}:{ACCOUNT}:{a.inputs.get('name', a.name)}",
        "url": f"https://sqs.{_aws_region(a)}.amazonaws.com/{ACCOUNT}/{a.inputs.get('name', a.name)}",
        "name": a.inputs.get("name", a.name),
    },
    "aws:s3/bucket:Bucket": lambda a: {"arn": f"arn:aws:s3:::{a.inputs.get('bucket', a.name)}", "bucket": a.inputs.get("bucket", a.name)},
    "azure-native:containerservice:ManagedCluster": _aks_cluster,
    "azure-native:managedidentity:UserAssignedIdentity": lambda a: {
        **_azure_resource(a), "principalId": _guid(a.name, "principal"), "clientId": _guid(a.name, "client"), "tenantId": TENANT,
    },
    "azure-native:keyvault:Key": lambda a: {
        "keyUri": f"https://{a.inputs.get('vaultName', 'kv')}.vault.azure.net/keys/{a.inputs.get('keyName')}",
        "keyUriWithVersion": f"https://{a.inputs.get('vaultName', 'kv')}.vault.azure.net/keys/{a.inputs.get('keyName')}/{_hex(a.name, n=32)}",
    },
    "azure-native:storage:StorageAccount": lambda a: {
        **_azure_resource(a),
        "primaryEndpoints": {"blob": f"https://{a.inputs.get('accountName')}.blob.core.windows.net/"},
    },
    "azure-native:resources:ResourceGroup": lambda a: {
        "name": a.inputs.get("resourceGroupName", a.name),
        "id": f"/subscriptions/{SUBSCRIPTION}/resourceGroups/{a.inputs.get('resourceGroupName', a.name)}",
    },
    "azure-native:storage:BlobContainer": lambda a: {
        **_azure_resource(a), "name": a.inputs.get("containerName", a.name),
    },
    "aws:iam/openIdConnectProvider:OpenIdConnectProvider": lambda a: {
        "arn": f"arn:aws:iam::{ACCOUNT}:oidc-provider/{str(a.inputs.get('url', a.name)).removeprefix('https://')}",
    },
    "gcp:container/cluster:Cluster": _gke_cluster,
    "gcp:serviceaccount/account:Account": lambda a: {
        "email": f"{a.inputs['accountId']}@mock-project.iam.gserviceaccount.com",
        "name": f"projects/mock-project/serviceAccounts/{a.inputs['accountId']}@mock-project.iam.gserviceaccount.com",
        "uniqueId": str(int(_hex(a.name, n=12), 16)),
    },
    "gcp:storage/bucket:Bucket": lambda a: {"url": f"gs://{a.inputs.get('name', a.name)}", "selfLink": f"https://www.googleapis.com/storage/v1/b/{a.inputs.get('name', a.name)}"},
    "random:index/randomPassword:RandomPassword": lambda a: {"result": _password(a.name, int(a.inputs.get("length", 32)))},
    "random:index/randomString:RandomString": lambda a: {"result": _hex(a.name, n=int(a.inputs.get("length", 8)))},
    "random:index/randomId:RandomId": lambda a: {"hex": _hex(a.name, n=2 * int(a.inputs.get("byteLength", 4))), "b64Url": _hex(a.name, n=8)},
}
def _k8s_secret(a: MockResourceArgs) -> dict[str, Any]:
    """Service-account token secrets get their token and CA filled in, as the token controller does."""
    if a.inputs.get("type") != "kubernetes.io/service-account-token":
        return {}
    meta = a.inputs.get("metadata") or {}
    token = f"eyJhbGciOiJSUzI1NiJ9.{_hex(a.name, meta.get('name', ''), n=48)}.mock"
    return {"data": {
        "token": base64.b64encode(token.encode()).decode(),
        "ca.crt": pki.cluster_ca_b64(a.name),
        "namespace": base64.b64encode(str(meta.get("namespace", "default")).encode()).decode(),
    }}


OUTPUTS["kubernetes:core/v1:Secret"] = _k8s_secret


def _route53_zone(a: MockResourceArgs) -> dict[str, Any]:
    """A hosted zone: id "Z" + 13-21 upper-case alphanumerics, and its four delegation name servers."""
    zone_id = "Z" + _hex(a.name, n=20).upper()
    n = int(_hex(a.name, n=4), 16)
    return {"zoneId": zone_id, "arn": f"arn:aws:route53:::hostedzone/{zone_id}",
            "nameServers": [f"ns-{(n + i * 512) % 2048}.awsdns-{(n + i) % 64:02d}.{tld}" for i, tld in enumerate(("com", "net", "org", "co.uk"))]}


OUTPUTS["aws:route53/zone:Zone"] = _route53_zone


def _helm_release(a: MockResourceArgs) -> dict[str, Any]:
    """A Helm release as the provider reports it after a first install: revision 1, deployed."""
    return {"status": {
        "name": a.inputs.get("name", a.name), "namespace": a.inputs.get("namespace", "default"),
        "chart": str(a.inputs.get("chart", "")).rsplit("/", 1)[-1], "version": a.inputs.get("version", ""),
        "revision": 1, "status": "deployed",
    }}


OUTPUTS["kubernetes:helm.sh/v3:Release"] = _helm_release

# --- the network fabric: what each provider computes ------------------------------------------

def _public_ip(*parts: str, first: int = 3) -> str:
    """A deterministic public address (AWS 3.x / 52.x, Azure 20.x, GCP 34.x/35.x style)."""
    n = int(_hex(*parts, n=6), 16)
    return f"{first}.{n % 250 + 1}.{(n >> 8) % 250 + 1}.{(n >> 16) % 250 + 1}"


def _vpn_connection(a: MockResourceArgs) -> dict[str, Any]:
    """AWS VPN connection: two outside addresses; inside addresses from the /30s asked for, AWS
    (``vgw``) taking the first host and the customer gateway the second."""
    import ipaddress

    out: dict[str, Any] = {"transitGatewayAttachmentId": f"tgw-attach-{_hex(a.name, 'attach')}",
                           "customerGatewayConfiguration": "[secret]", "vgwTelemetries": []}
    for i in (1, 2):
        out[f"tunnel{i}Address"] = _public_ip(a.name, str(i), first=52 if i == 1 else 3)
        cidr = a.inputs.get(f"tunnel{i}InsideCidr")
        if cidr:
            hosts = list(ipaddress.IPv4Network(cidr).hosts())
            out[f"tunnel{i}VgwInsideAddress"], out[f"tunnel{i}CgwInsideAddress"] = str(hosts[0]), str(hosts[1])
        out[f"tunnel{i}BgpAsn"] = "64512"
    return out


def _ha_vpn_gateway(a: MockResourceArgs) -> dict[str, Any]:
    """GCP assigns both interfaces of an HA VPN gateway an external address at creation."""
    return {"vpnInterfaces": [{"id": i, "ipAddress": _public_ip(a.name, str(i), first=35)} for i in (0, 1)],
            "selfLink": f"https://www.googleapis.com/compute/v1/projects/mock-project/regions/{a.inputs.get('region')}/vpnGateways/{a.inputs.get('name')}"}


OUTPUTS.update({
    "aws:ec2transitgateway/transitGateway:TransitGateway": lambda a: {
        "arn": f"arn:aws:ec2:{_aws_region(a)}:{ACCOUNT}:transit-gateway/tgw-{_hex(a.name)}",
        "associationDefaultRouteTableId": f"tgw-rtb-{_hex(a.name, 'rtb')}",
        "propagationDefaultRouteTableId": f"tgw-rtb-{_hex(a.name, 'rtb')}",
        "ownerId": ACCOUNT,
    },
    # The accepter is the peering attachment seen from the peer region: same attachment id.
    "aws:ec2transitgateway/peeringAttachmentAccepter:PeeringAttachmentAccepter": lambda a: {
        "transitGatewayId": f"tgw-{_hex(_aws_region(a), 'accepter')}", "peerAccountId": ACCOUNT,
    },
    "aws:ec2/vpnConnection:VpnConnection": _vpn_connection,
    "aws:ec2/customerGateway:CustomerGateway": lambda a: {"arn": f"arn:aws:ec2:{_aws_region(a)}:{ACCOUNT}:customer-gateway/cgw-{_hex(a.name)}"},
    "azure-native:network:PublicIPAddress": lambda a: {**_azure_resource(a), "ipAddress": _public_ip(a.name, first=20)},
    "gcp:compute/haVpnGateway:HaVpnGateway": _ha_vpn_gateway,
    # Public addresses: an EIP's and a reserved GCP address's, allocated at creation.
    "aws:ec2/eip:Eip": lambda a: {"publicIp": _public_ip(a.name, first=18), "allocationId": f"eipalloc-{_hex(a.typ, a.name)}"},
    "gcp:compute/address:Address": lambda a: {
        "address": _public_ip(a.name, first=34),
        "selfLink": f"https://www.googleapis.com/compute/v1/projects/mock-project/regions/{a.inputs.get('region')}/addresses/{a.inputs.get('name')}"},
    "aws:codebuild/project:Project": lambda a: {
        "arn": f"arn:aws:codebuild:{_aws_region(a)}:{ACCOUNT}:project/{a.inputs.get('name', a.name)}", "name": a.inputs.get("name", a.name),
    },
    "aws:codebuild/webhook:Webhook": lambda a: {"url": f"https://codebuild.{_aws_region(a)}.amazonaws.com/webhooks?t={_hex(a.name, n=32)}"},
})

OUTPUTS.update(pki.MOCK_OUTPUTS)


def _mock_id(a: MockResourceArgs) -> str:
    prefix = {
        "aws:ec2/vpc:Vpc": "vpc-", "aws:ec2/subnet:Subnet": "subnet-", "aws:ec2/natGateway:NatGateway": "nat-",
        "aws:ec2/eip:Eip": "eipalloc-", "aws:ec2/internetGateway:InternetGateway": "igw-", "aws:ec2/routeTable:RouteTable": "rtb-",
        "aws:ec2/launchTemplate:LaunchTemplate": "lt-", "aws:ec2/securityGroup:SecurityGroup": "sg-",
        "aws:ec2transitgateway/transitGateway:TransitGateway": "tgw-", "aws:ec2/customerGateway:CustomerGateway": "cgw-",
        "aws:ec2/vpnConnection:VpnConnection": "vpn-", "aws:ec2transitgateway/vpcAttachment:VpcAttachment": "tgw-attach-",
        "aws:ec2transitgateway/peeringAttachment:PeeringAttachment": "tgw-attach-",
    }.get(a.typ)
    if prefix:
        return prefix + _hex(a.typ, a.name)
    if a.typ.startswith("azure-native:"):
        return _azure_resource(a)["id"]
    if a.typ == "aws:route53/healthCheck:HealthCheck":
        return _guid(a.typ, a.name)  # Route 53 health check ids are UUIDs
    if a.typ == "aws:route53/zone:Zone":
        return _route53_zone(a)["zoneId"]
    if a.typ == "gcp:container/cluster:Cluster":
        return f"projects/mock-project/locations/{_region_of(a)}/clusters/{a.inputs.get('name', a.name)}"
    if a.typ == "gcp:kms/keyRing:KeyRing":
        return f"projects/mock-project/locations/{_region_of(a)}/keyRings/{a.inputs.get('name', a.name)}"
    if a.typ == "gcp:kms/cryptoKey:CryptoKey":
        return f"{a.inputs.get('keyRing', 'ring')}/cryptoKeys/{a.inputs.get('name', a.name)}"
    if a.typ.startswith("gcp:compute/"):
        return f"projects/mock-project/global/{a.typ.split('/')[1].split(':')[0]}s/{a.inputs.get('name', a.name)}"
    return f"{a.name}-{_hex(a.typ, a.name, n=8)}"


# --- invokes ----------------------------------------------------------------------------------

def _aks_credentials(args: MockCallArgs) -> dict[str, Any]:
    """AKS returns the privatelink FQDN for a private cluster unless ``serverFqdn: public``."""
    name = args.args.get("resourceName", "aks")
    host = "hcp" if args.args.get("serverFqdn") != "private" else "privatelink"
    kubeconfig = (
        "apiVersion: v1\nkind: Config\n"
        f"clusters:\n- name: {name}\n  cluster:\n    server: https://{name}-{_hex(name, n=8)}.{host}.azmk8s.io:443\n"
        f"    certificate-authority-data: {pki.cluster_ca_b64(name)}\n"
        f"users:\n- name: clusterUser_{name}\n  user:\n    exec:\n      apiVersion: client.authentication.k8s.io/v1beta1\n"
        "      command: kubelogin\n      args: [get-token, --login, devicecode]\n"
        f"contexts:\n- name: {name}\n  context: {{cluster: {name}, user: clusterUser_{name}}}\ncurrent-context: {name}\n"
    )
    return {"kubeconfigs": [{"name": "clusterUser", "value": base64.b64encode(kubeconfig.encode()).decode()}]}


_REGION_WORDS = {"east": "e", "west": "w", "north": "n", "south": "s", "central": "c", "northeast": "ne",
                 "southeast": "se", "northwest": "nw", "southwest": "sw"}


def _aws_zones(a: MockCallArgs) -> dict[str, Any]:
    """The region's zones (stacks/regions.py) with zone IDs in the account-independent form
    (``use1-az1``); the mock account maps none of the default zones to an ID EKS refuses."""
    from stacks.regions import AWS_ZONES

    region = _aws_region(a)
    geo, *words, num = region.split("-")
    prefix = geo + "".join(_REGION_WORDS.get(w, w[:1]) for w in words) + num
    names = list(AWS_ZONES.get(region, (f"{region}a", f"{region}b", f"{region}c")))
    ids = [f"{prefix}-az{i}" for i in range(1, 8) if f"{prefix}-az{i}" not in {"use1-az3", "usw1-az2", "cac1-az3"}][: len(names)]
    return {"names": names, "zoneIds": ids, "groupNames": [region] * len(names), "id": region, "region": region,
            "state": a.args.get("state")}


CALLS: dict[str, Callable[[MockCallArgs], dict[str, Any]]] = {
    "aws:index/getAvailabilityZones:getAvailabilityZones": _aws_zones,
    "aws:index/getCallerIdentity:getCallerIdentity": lambda a: {
        "accountId": ACCOUNT, "arn": f"arn:aws:sts::{ACCOUNT}:assumed-role/archipelago-deployer/ci-session",
        "userId": "AROAMOCK:ci-session", "id": ACCOUNT,
    },
    "aws:iam/getSessionContext:getSessionContext": lambda a: {
        "arn": a.args.get("arn", ""), "issuerArn": f"arn:aws:iam::{ACCOUNT}:role/archipelago-deployer",
        "issuerId": "AROAMOCK", "issuerName": "archipelago-deployer", "sessionName": "ci-session", "id": a.args.get("arn", ""),
    },
    # Secrets Manager appends six random characters to a secret's name in its ARN.
    "aws:secretsmanager/getSecret:getSecret": lambda a: {
        "name": a.args.get("name", ""), "id": f"arn:aws:secretsmanager:us-east-2:{ACCOUNT}:secret:{a.args.get('name', '')}-Ab12Cd",
        "arn": f"arn:aws:secretsmanager:us-east-2:{ACCOUNT}:secret:{a.args.get('name', '')}-Ab12Cd",
    },
    "aws:index/getPartition:getPartition": lambda a: {"partition": "aws", "dnsSuffix": "amazonaws.com", "id": "aws"},
    "aws:index/getRegion:getRegion": lambda a: {"name": _aws_region(a), "region": _aws_region(a), "id": _aws_region(a)},
    "azure-native:authorization:getClientConfig": lambda a: {
        "clientId": _guid("client"), "objectId": _guid("object"), "subscriptionId": SUBSCRIPTION, "tenantId": TENANT,
    },
    "azure-native:containerservice:listManagedClusterUserCredentials": _aks_credentials,
    "azure-native:keyvault:getKey": lambda a: {
        "name": a.args.get("keyName"),
        "keyUri": f"https://{a.args.get('vaultName')}.vault.azure.net/keys/{a.args.get('keyName')}",
        "keyUriWithVersion": f"https://{a.args.get('vaultName')}.vault.azure.net/keys/{a.args.get('keyName')}/"
                             + _hex(str(a.args.get("vaultName")), str(a.args.get("keyName")), n=32),
    },
    "gcp:organizations/getProject:getProject": lambda a: {
        "projectId": a.args.get("projectId", "mock-project"), "number": "123456789012", "name": "mock-project",
        "id": f"projects/{a.args.get('projectId', 'mock-project')}",
    },
    "gcp:organizations/getClientConfig:getClientConfig": lambda a: {"project": "mock-project", "region": "us-central1", "accessToken": "ya29.mock"},
}


class FleetMocks(pulumi.runtime.Mocks):
    def new_resource(self, args: MockResourceArgs) -> tuple[str, dict[str, Any]]:
        state = dict(args.inputs)
        if args.typ.startswith("azure-native:") and args.typ != "azure-native:containerservice:ManagedCluster":
            # Every azure-native resource returns its name and ARM id.
            state.update(_azure_resource(args))
        out = OUTPUTS.get(args.typ)
        if out is not None:
            state.update(out(args))
        elif args.typ.startswith("azure-native:"):
            # ARM returns every resource's name and id (e.g. vnet.name feeding a Subnet).
            state.update(_azure_resource(args))
        return _mock_id(args), state

    # The SDK annotates call() as returning a (result, failures) tuple, but its mock monitor also takes a plain dict.
    def call(self, args: MockCallArgs) -> dict[str, Any]:  # pyright: ignore[reportIncompatibleMethodOverride]
        # A plain dict: the SDK's mock monitor cannot take a (result, None) tuple.
        fn = CALLS.get(args.token)
        if fn is None:
            raise NotImplementedError(f"the mock engine has no answer for invoke {args.token}")
        return fn(args)


class DuplicateUrnError(Exception):
    """Two resources registered under one URN: the Pulumi engine refuses the whole update."""

    def __init__(self, urns: list[str]):
        self.urns = sorted(set(urns))
        super().__init__("duplicate resource URN(s), which the engine refuses: " + ", ".join(self.urns))


def _moves(aliases: Any) -> list[dict[str, Any]]:
    """The aliases that say a resource moved (another parent, name or type, or a full old URN).
    The type-only aliases provider SDKs add to every resource of a renamed type (dozens of former
    API versions on azure-native) are left out; this program's own component renames are kept."""
    out = []
    for a in aliases:
        d = json_format.MessageToDict(a)
        spec = d.get("spec", {})
        own_type = str(spec.get("type", "")).startswith(f"{PROJECT_PACKAGE}:")
        if "urn" in d or spec.get("parentUrn") or spec.get("noParent") or spec.get("name") or own_type:
            out.append(d)
    return out


class RecordingMonitor(MockMonitor):
    """A mock monitor that keeps the plan record."""

    def __init__(self, mocks: pulumi.runtime.Mocks):
        super().__init__(mocks)
        self.records: list[dict[str, Any]] = []
        self.stack_outputs: dict[str, Any] = {}
        self.duplicates: list[str] = []
        self._urns: set[str] = set()

    def check_unique(self) -> None:
        """Raise :class:`DuplicateUrnError` if the program registered any URN twice."""
        if self.duplicates:
            raise DuplicateUrnError(self.duplicates)

    def RegisterResource(self, request: Any) -> Any:
        response = super().RegisterResource(request)
        if response.urn in self._urns:
            # The engine refuses a second registration of a URN ("Duplicate resource URN");
            # so does this monitor, and check_unique() fails the plan afterwards.
            self.duplicates.append(response.urn)
            raise DuplicateUrnError([response.urn])
        self._urns.add(response.urn)
        if request.type != "pulumi:pulumi:Stack":
            inputs = json_format.MessageToDict(request.object, preserving_proto_field_name=True)
            self.records.append({
                "urn": response.urn,
                "type": request.type,
                "name": request.name,
                "custom": bool(request.custom),
                "parent": request.parent or None,
                "provider": request.provider.rsplit("::", 1)[0] if request.provider else None,
                "dependencies": sorted(set(request.dependencies)),
                "protect": bool(request.protect) if request.HasField("protect") else False,
                "inputs": mask_secrets(inputs),
                "secretOutputs": list(request.additionalSecretOutputs),
                **({"aliases": moves} if (moves := _moves(request.aliases)) else {}),
            })
        return response
