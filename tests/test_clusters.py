"""Cluster settings a cloud accepts today, each pinned to the upstream doc or source that requires it."""

from __future__ import annotations

import json
from typing import Any

import pytest

from offline.plan import run_plan
from offline.report import cluster_of

from .conftest import stack_raw


def _named(plan, typ: str, name: str) -> dict[str, Any]:
    matches = [r for r in plan.of_type(typ) if r["name"] == name]
    assert len(matches) == 1, f"expected one {typ} named {name}, found {len(matches)}"
    return matches[0]


def _clusters(plan, cloud: str):
    return [c for c in plan.spec.clusters if c.cloud == cloud]


# --- Karpenter on EKS -----------------------------------------------------------------------------


def test_karpenter_controller_gets_its_region(prod_plan) -> None:
    """Karpenter resolves its region from AWS_REGION or IMDS and exits without one; Pod Identity
    injects no region and IMDS hop limit 1 keeps pods off IMDS, so the controller env sets it.
    Source: aws/karpenter-provider-aws@v1.14.1 charts/karpenter/values.yaml (controller.env, example
    AWS_REGION) and pkg/operator/operator.go (region from the AWS config / IMDS)."""
    import helm_python as helm
    import yaml

    from stacks.loader import ROOT

    chart = helm.Chart.load(ROOT.parent / "shared" / "charts" / "karpenter")
    for c in _clusters(prod_plan, "aws"):
        release = _named(prod_plan, "kubernetes:helm.sh/v3:Release", f"{c.name}-karpenter")
        rendered = chart.render(release["inputs"]["values"], name="karpenter", namespace="kube-system", is_install=True)
        docs = [d for text in rendered.values() for d in yaml.safe_load_all(text) if d]
        (deploy,) = [d for d in docs if d["kind"] == "Deployment"]
        env = {e["name"]: e.get("value") for e in deploy["spec"]["template"]["spec"]["containers"][0]["env"]}
        assert env["AWS_REGION"] == c.region


def test_spot_service_linked_role_once_per_account(plan) -> None:
    """Spot launches in an account that never ran Spot fail with
    AuthFailure.ServiceLinkedRoleCreationNotPermitted unless AWSServiceRoleForEC2Spot exists.
    Source: https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/service-linked-roles-spot-instance-requests.html;
    pulumi_aws 7.51.1 iam/service_linked_role.py (aws_service_name)."""
    roles = plan.of_type("aws:iam/serviceLinkedRole:ServiceLinkedRole")
    assert [r["inputs"]["awsServiceName"] for r in roles] == ["spot.amazonaws.com"]
    first = next(c for c in plan.spec.clusters if c.cloud == "aws")
    pools = {r["name"]: r for r in plan.of_type("kubernetes:karpenter.sh/v1:NodePool")}
    assert roles[0]["urn"] in pools[f"{first.name}-spot-first-nodepool"]["dependencies"]


def test_existing_spot_role_is_not_created() -> None:
    raw = stack_raw("dev")
    raw["nodeProvisioning"] = {"awsSpotServiceLinkedRole": "existing"}
    plan = run_plan("dev", raw=raw)
    assert plan.of_type("aws:iam/serviceLinkedRole:ServiceLinkedRole") == []


# --- GKE ------------------------------------------------------------------------------------------


def test_gke_vulnerability_mode_is_one_gke_still_accepts(plan) -> None:
    """VULNERABILITY_BASIC was removed on 2025-07-31 and can no longer be enabled (create fails).
    Source: https://cloud.google.com/kubernetes-engine/docs/concepts/about-security-posture-dashboard
    (deprecation notice); pulumi_gcp 10.2.0 container/_inputs.py ClusterSecurityPostureConfigArgs."""
    for r in plan.of_type("gcp:container/cluster:Cluster"):
        mode = r["inputs"]["securityPostureConfig"]["vulnerabilityMode"]
        assert mode in {"VULNERABILITY_DISABLED", "VULNERABILITY_ENTERPRISE"}


def test_gke_key_ring_name_survives_destroy_and_recreate(plan) -> None:
    """Cloud KMS key rings and keys cannot be deleted: re-creating one with the same name returns
    409. Source: https://cloud.google.com/kms/docs/resource-hierarchy#lifetime (key rings and keys
    cannot be deleted); pulumi_gcp 10.2.0 kms/key_ring.py."""
    for c in _clusters(plan, "gcp"):
        ring = _named(plan, "gcp:kms/keyRing:KeyRing", f"{c.name}-kms")
        suffix = _named(plan, "random:index/randomString:RandomString", f"{c.name}-name-suffix")
        assert ring["inputs"]["name"].startswith(f"{c.name}-gke-") and ring["inputs"]["name"] != f"{c.name}-gke"
        assert suffix["urn"] in ring["dependencies"]


def test_gke_maintenance_window_from_config(plan) -> None:
    """Auto-upgrades run inside a recurring window; GKE requires 48 hours of availability in any 32
    days, at least 4 hours per occurrence. Source:
    https://cloud.google.com/kubernetes-engine/docs/concepts/maintenance-windows-and-exclusions;
    pulumi_gcp 10.2.0 ClusterMaintenancePolicyRecurringWindowArgs (start_time, end_time, recurrence)."""
    import datetime as dt

    for r in plan.of_type("gcp:container/cluster:Cluster"):
        w = r["inputs"]["maintenancePolicy"]["recurringWindow"]
        start, end = (dt.datetime.fromisoformat(w[k]) for k in ("startTime", "endTime"))
        # A weekly window occurs only 4 times in some 32-day spans: 4 x duration >= 48 h.
        assert 4 * (end - start) >= dt.timedelta(hours=48)
        assert w["recurrence"] == "FREQ=WEEKLY;BYDAY=SA" and start.strftime("%A") == "Saturday"


# --- AKS ------------------------------------------------------------------------------------------


def test_aks_kms_vault_is_private_with_vnet_integration(plan) -> None:
    """A private key vault for KMS needs API server VNet integration (Konnectivity is no longer
    supported for private vaults since 2024-09-15) and keyVaultResourceId; the vault denies public
    access. Source: https://learn.microsoft.com/azure/aks/use-kms-etcd-encryption (private key vault,
    limitations); azure-native 3.29.0 containerservice AzureKeyVaultKmsArgs, ManagedClusterAPIServerAccessProfileArgs."""
    for c in _clusters(plan, "azure"):
        aks = _named(plan, "azure-native:containerservice:ManagedCluster", f"{c.name}-aks")["inputs"]
        kms = aks["securityProfile"]["azureKeyVaultKms"]
        vault = _named(plan, "azure-native:keyvault:Vault", f"{c.name}-kms")
        assert kms["keyVaultNetworkAccess"] == "Private"
        assert kms["keyVaultResourceId"].endswith("/providers/Microsoft.KeyVault/vaults/" + vault["inputs"]["vaultName"])
        assert vault["inputs"]["properties"]["publicNetworkAccess"] == "Disabled"
        assert vault["inputs"]["properties"]["networkAcls"]["defaultAction"] == "Deny"
        api = aks["apiServerAccessProfile"]
        sub = _named(plan, "azure-native:network:Subnet", f"{c.name}-net-apiserver")["inputs"]
        assert api["enableVnetIntegration"] is True and api["subnetId"].endswith("/subnets/apiserver")
        assert sub["delegations"][0]["serviceName"] == "Microsoft.ContainerService/managedClusters"
        assert sub["addressPrefix"].endswith("/28")


def test_aks_kms_key_id_follows_rotation(plan) -> None:
    """The key id comes from the key's current version read at each `up` (getKey), so a rotated key
    reaches the cluster; the resource's own keyUriWithVersion would stay at the first version.
    Source: https://learn.microsoft.com/azure/aks/use-kms-etcd-encryption#rotate-the-existing-keys."""
    for c in _clusters(plan, "azure"):
        aks = _named(plan, "azure-native:containerservice:ManagedCluster", f"{c.name}-aks")["inputs"]
        vault = _named(plan, "azure-native:keyvault:Vault", f"{c.name}-kms")["inputs"]["vaultName"]
        key_id = aks["securityProfile"]["azureKeyVaultKms"]["keyId"]
        assert key_id.startswith(f"https://{vault}.vault.azure.net/keys/etcd/")
        from offline.mocks import _hex
        assert key_id.rsplit("/", 1)[1] == _hex(vault, "etcd", n=32), "from the getKey invoke, not the Key resource"


def test_dev_key_vault_can_be_destroyed_and_recreated(dev_plan, prod_plan) -> None:
    """Purge protection cannot be turned off once on and holds the name for the retention period;
    soft delete keeps a vault name reserved. Dev: no purge protection, 7 days, suffixed name.
    Source: https://learn.microsoft.com/azure/key-vault/general/soft-delete-overview; azure-native
    3.29.0 keyvault VaultPropertiesArgs (enable_purge_protection does not accept false)."""
    for plan, purge, days in ((dev_plan, None, 7), (prod_plan, True, 90)):
        for c in _clusters(plan, "azure"):
            props = _named(plan, "azure-native:keyvault:Vault", f"{c.name}-kms")["inputs"]["properties"]
            assert props.get("enablePurgeProtection") is purge
            assert props["softDeleteRetentionInDays"] == days
            name = _named(plan, "azure-native:keyvault:Vault", f"{c.name}-kms")["inputs"]["vaultName"]
            assert 3 <= len(name) <= 24 and "--" not in name and name.startswith(c.name[:10])


def test_aks_provider_waits_for_rbac_propagation(plan) -> None:
    """Azure role assignments propagate with a delay; the first in-cluster calls would get 403.
    Source: https://learn.microsoft.com/azure/role-based-access-control/troubleshooting#symptom---role-assignment-changes-are-not-being-detected;
    pulumiverse-time 0.1.1 Sleep(create_duration)."""
    by_urn = plan.by_urn()
    for c in _clusters(plan, "azure"):
        sleep = _named(plan, "time:index/sleep:Sleep", f"{c.name}-deployer-admin-propagation")
        admin = _named(plan, "azure-native:authorization:RoleAssignment", f"{c.name}-deployer-admin")
        assert admin["urn"] in sleep["dependencies"] and sleep["inputs"]["createDuration"] == "120s"
        provider = next(p for p in plan.of_type("pulumi:providers:kubernetes") if cluster_of(p, by_urn) == c.name)
        assert sleep["urn"] in provider["dependencies"]


def test_aks_maintenance_windows_from_config(plan) -> None:
    """Both AKS schedules (cluster auto-upgrade and node OS) are set. Source:
    https://learn.microsoft.com/azure/aks/planned-maintenance (aksManagedAutoUpgradeSchedule,
    aksManagedNodeOSUpgradeSchedule; durationHours 4-24); azure-native 3.29.0 MaintenanceConfiguration."""
    for c in _clusters(plan, "azure"):
        for cfg in ("aksManagedAutoUpgradeSchedule", "aksManagedNodeOSUpgradeSchedule"):
            mc = _named(plan, "azure-native:containerservice:MaintenanceConfiguration", f"{c.name}-{cfg}")["inputs"]
            w = mc["maintenanceWindow"]
            assert mc["configName"] == cfg and mc["resourceName"] == c.name
            assert w["schedule"]["weekly"] == {"dayOfWeek": "Saturday", "intervalWeeks": 1}
            assert 4 <= w["durationHours"] <= 24 and w["startTime"] == "02:00" and w["utcOffset"] == "+00:00"


@pytest.mark.parametrize("section,path", [
    ({"day": "Caturday"}, "maintenance.day"),
    ({"startUtc": "25:00"}, "maintenance.startUtc"),
    ({"durationHours": 8}, "maintenance.durationHours"),  # under GKE's 48 h per 32 days
])
def test_bad_maintenance_config_is_refused(section, path) -> None:
    from stacks.config import ConfigError
    from stacks.validate import build_spec

    raw = stack_raw("dev")
    raw["maintenance"] = section
    with pytest.raises(ConfigError) as info:
        build_spec(raw, "dev")
    assert any(i.path == path for i in info.value.issues), [str(i) for i in info.value.issues]


# --- the mock engine is no kinder than the clouds ---------------------------------------------------


def test_tls_mock_writes_no_pathlen_zero() -> None:
    """terraform-provider-tls sets x509 MaxPathLen but never MaxPathLenZero, and Go then omits
    pathLenConstraint for 0. Sources: hashicorp/terraform-provider-tls internal/provider/common_cert.go;
    Go src/crypto/x509/x509.go."""
    from offline.pki import _path_length

    assert [_path_length(True, n) for n in (None, -1, 0, 1, 2)] == [None, None, None, 1, 2]
    assert _path_length(False, 3) is None


def test_azure_resources_return_their_own_name(plan) -> None:
    """azure-native returns ``name`` for every resource (the ARM resource name); without it the plan
    loses inputs and dependency edges built from ``vault.name``, ``vnet.name``, ``nsg.name``."""
    kinds = ("azure-native:keyvault:Vault", "azure-native:network:VirtualNetwork", "azure-native:network:NetworkSecurityGroup")
    by_urn = plan.by_urn()
    for typ in kinds:
        for r in plan.of_type(typ):
            users = [u for u in plan.resources if r["urn"] in u["dependencies"]]
            assert users, f"nothing depends on {r['name']}"
    for c in _clusters(plan, "azure"):
        key = _named(plan, "azure-native:keyvault:Key", f"{c.name}-kms")
        vault = _named(plan, "azure-native:keyvault:Vault", f"{c.name}-kms")
        assert key["inputs"]["vaultName"] == vault["inputs"]["vaultName"] and vault["urn"] in key["dependencies"]
        subnet = _named(plan, "azure-native:network:Subnet", f"{c.name}-net-nodes")
        vnet = next(r for r in plan.of_type("azure-native:network:VirtualNetwork") if cluster_of(r, by_urn) == c.name)
        assert subnet["inputs"]["virtualNetworkName"] == vnet["inputs"]["virtualNetworkName"]


def test_aws_arns_are_in_the_resource_region(plan) -> None:
    for c in _clusters(plan, "aws"):
        eks = _named(plan, "aws:eks/cluster:Cluster", f"{c.name}-eks")
        arn = eks["inputs"]["encryptionConfig"]["provider"]["keyArn"]
        assert arn.startswith(f"arn:aws:kms:{c.region}:"), arn


# --- EKS ------------------------------------------------------------------------------------------


def test_eks_kms_key_has_an_explicit_policy(plan) -> None:
    """Admins: the deployer; users: the cluster role (plus the account root so IAM still governs),
    as terraform-aws-modules/terraform-aws-eks (v20 kms.tf) configures terraform-aws-kms
    (key_administrators = caller, key_users = cluster role). Default policy otherwise."""
    for c in _clusters(plan, "aws"):
        key = _named(plan, "aws:kms/key:Key", f"{c.name}-secrets")
        stmts = {s["Sid"]: s for s in json.loads(key["inputs"]["policy"])["Statement"]}
        role = _named(plan, "aws:iam/role:Role", f"{c.name}-cluster-role")
        assert stmts["KeyUsage"]["Principal"]["AWS"] == f"arn:aws:iam::123456789012:role/{role['inputs']['name']}"
        assert stmts["KeyAdministration"]["Principal"]["AWS"] == "arn:aws:iam::123456789012:role/archipelago-deployer"
        assert "kms:Decrypt" not in stmts["KeyAdministration"]["Action"] and "kms:Decrypt" in stmts["KeyUsage"]["Action"]
        assert role["urn"] in key["dependencies"]


def test_eks_ebs_csi_driver_with_pod_identity(plan) -> None:
    """Without the EBS CSI driver PVCs on EKS stay Pending. Managed add-on aws-ebs-csi-driver, its
    controller SA ebs-csi-controller-sa on a Pod Identity role with AmazonEBSCSIDriverPolicy.
    Source: https://docs.aws.amazon.com/eks/latest/userguide/ebs-csi.html; pulumi_aws 7.51.1
    eks/_inputs.py AddonPodIdentityAssociationArgs."""
    for c in _clusters(plan, "aws"):
        addon = _named(plan, "aws:eks/addon:Addon", f"{c.name}-aws-ebs-csi-driver")["inputs"]
        (assoc,) = addon["podIdentityAssociations"]
        role = _named(plan, "aws:iam/role:Role", f"{c.name}-ebs-csi-role")["inputs"]
        assert assoc["serviceAccount"] == "ebs-csi-controller-sa" and assoc["roleArn"].endswith("/" + role["name"])
        assert json.loads(role["assumeRolePolicy"])["Statement"][0]["Principal"] == {"Service": "pods.eks.amazonaws.com"}
        attach = _named(plan, "aws:iam/rolePolicyAttachment:RolePolicyAttachment", f"{c.name}-ebs-csi-policy")["inputs"]
        assert attach["policyArn"] == "arn:aws:iam::aws:policy/service-role/AmazonEBSCSIDriverPolicy"
        # EKS 1.30+ has no default StorageClass (docs: kubernetes-versions-standard.html#kubernetes-1-30).
        assert json.loads(addon["configurationValues"]) == {"defaultStorageClass": {"enabled": True}}


def test_eks_addon_versions_pinned_from_the_version_table(plan) -> None:
    """EKS sets an add-on's default version at create and never bumps it on cluster upgrades, so
    each is pinned per Kubernetes version. Source:
    https://docs.aws.amazon.com/eks/latest/userguide/updating-an-add-on.html."""
    from stacks.versions import EKS_ADDON_VERSIONS

    for c in _clusters(plan, "aws"):
        addons = {r["inputs"]["addonName"]: r["inputs"] for r in plan.of_type("aws:eks/addon:Addon")
                  if r["inputs"]["clusterName"] == c.name}
        assert {k: v.get("addonVersion") for k, v in addons.items()} == EKS_ADDON_VERSIONS[c.kubernetes_version]


# --- AWS zones --------------------------------------------------------------------------------------


@pytest.mark.parametrize("region,zone,ok", [
    ("ap-northeast-1", "ap-northeast-1b", False),  # no such zone: the region has a, c and d
    ("ap-northeast-1", "ap-northeast-1d", True),
    ("us-west-2", "us-west-2d", True),
])
def test_aws_zones_are_the_regions_real_zones(region, zone, ok) -> None:
    """Zone letters are not contiguous (ap-northeast-1: a, c, d). Source:
    https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/using-regions-availability-zones.html."""
    from stacks.config import ConfigError
    from stacks.regions import AWS_ZONES, default_zones
    from stacks.validate import build_spec

    assert default_zones("aws", "ap-northeast-1") == ["ap-northeast-1a", "ap-northeast-1c", "ap-northeast-1d"]
    raw = stack_raw("dev")
    raw["clusters"][1].update(region=region, zones=[AWS_ZONES[region][0], zone])
    if ok:
        build_spec(raw, "dev")
    else:
        with pytest.raises(ConfigError, match="is not an availability zone of ap-northeast-1"):
            build_spec(raw, "dev")


def test_aws_region_without_zone_table_needs_zones() -> None:
    from stacks.config import ConfigError
    from stacks.validate import build_spec

    raw = stack_raw("dev")
    raw["clusters"][1].update(region="me-central-1")
    raw["clusters"][1].pop("zones", None)
    with pytest.raises(ConfigError, match="must be listed for me-central-1"):
        build_spec(raw, "dev")


def test_eks_refuses_zones_whose_id_eks_does_not_support() -> None:
    """EKS rejects control-plane subnets in use1-az3, usw1-az2 and cac1-az3; zone names map to IDs
    per account, so the check runs on the account's own mapping (getAvailabilityZones). Source:
    https://docs.aws.amazon.com/eks/latest/userguide/network-reqs.html."""
    from components.clusters.eks import eks_zones

    names, ids = ["us-east-1a", "us-east-1b", "us-east-1c"], ["use1-az1", "use1-az3", "use1-az2"]
    assert eks_zones("us-east-1", ["us-east-1a", "us-east-1c"], names, ids) == ["us-east-1a", "us-east-1c"]
    with pytest.raises(ValueError, match="us-east-1b is zone use1-az3"):
        eks_zones("us-east-1", ["us-east-1a", "us-east-1b"], names, ids)
    with pytest.raises(ValueError, match="not an available zone"):
        eks_zones("us-east-1", ["us-east-1e"], names, ids)


def test_eks_subnets_wait_for_the_zone_check(plan) -> None:
    for c in _clusters(plan, "aws"):
        eks = _named(plan, "aws:eks/cluster:Cluster", f"{c.name}-eks")["inputs"]
        assert len(eks["vpcConfig"]["subnetIds"]) == len(c.zones) and all(s.startswith("subnet-") for s in eks["vpcConfig"]["subnetIds"])
