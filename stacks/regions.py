"""Regions each cloud offers for managed Kubernetes (EKS, AKS, GKE).

A static table so that config validation needs no credentials. Add a region here when a cloud
opens one; a typo such as ``us-east1`` on AWS is then caught before anything is registered.
"""

from __future__ import annotations

AWS_REGIONS = frozenset({
    "us-east-1", "us-east-2", "us-west-1", "us-west-2",
    "af-south-1",
    "ap-east-1", "ap-east-2", "ap-south-1", "ap-south-2", "ap-northeast-1", "ap-northeast-2", "ap-northeast-3",
    "ap-southeast-1", "ap-southeast-2", "ap-southeast-3", "ap-southeast-4", "ap-southeast-5", "ap-southeast-7",
    "ca-central-1", "ca-west-1",
    "eu-central-1", "eu-central-2", "eu-west-1", "eu-west-2", "eu-west-3", "eu-north-1", "eu-south-1", "eu-south-2",
    "il-central-1", "me-south-1", "me-central-1", "mx-central-1", "sa-east-1",
})

AZURE_REGIONS = frozenset({
    "eastus", "eastus2", "centralus", "northcentralus", "southcentralus", "westcentralus", "westus", "westus2", "westus3",
    "canadacentral", "canadaeast", "brazilsouth", "mexicocentral",
    "northeurope", "westeurope", "uksouth", "ukwest", "francecentral", "germanywestcentral", "switzerlandnorth",
    "norwayeast", "swedencentral", "polandcentral", "italynorth", "spaincentral",
    "eastasia", "southeastasia", "japaneast", "japanwest", "koreacentral", "koreasouth", "australiaeast",
    "australiasoutheast", "australiacentral", "centralindia", "southindia", "westindia", "indonesiacentral",
    "malaysiawest", "newzealandnorth",
    "uaenorth", "qatarcentral", "israelcentral", "southafricanorth",
})

GCP_REGIONS = frozenset({
    "us-central1", "us-east1", "us-east4", "us-east5", "us-south1", "us-west1", "us-west2", "us-west3", "us-west4",
    "northamerica-northeast1", "northamerica-northeast2", "northamerica-south1",
    "southamerica-east1", "southamerica-west1",
    "europe-west1", "europe-west2", "europe-west3", "europe-west4", "europe-west6", "europe-west8", "europe-west9",
    "europe-west10", "europe-west12", "europe-north1", "europe-north2", "europe-central2", "europe-southwest1",
    "asia-east1", "asia-east2", "asia-northeast1", "asia-northeast2", "asia-northeast3", "asia-south1", "asia-south2",
    "asia-southeast1", "asia-southeast2", "australia-southeast1", "australia-southeast2",
    "me-central1", "me-central2", "me-west1", "africa-south1",
})

# AWS availability zone names per region, as EC2 DescribeAvailabilityZones lists them (zone
# letters are not contiguous: ap-northeast-1 has a, c and d; ca-central-1 a, b and d). Sources:
# https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/using-regions-availability-zones.html and
# the EKS zones EKS refuses (by zone ID: use1-az3, usw1-az2, cac1-az3), see
# https://docs.aws.amazon.com/eks/latest/userguide/network-reqs.html. Zone names map to zone IDs
# per account in older regions: in us-east-1 the defaults (a, b, c) avoid ``e``, the name most
# accounts see for use1-az3. A region missing here needs ``zones`` listed in the stack file.
AWS_ZONES: dict[str, tuple[str, ...]] = {
    "us-east-1": ("us-east-1a", "us-east-1b", "us-east-1c", "us-east-1d", "us-east-1f"),
    "us-east-2": ("us-east-2a", "us-east-2b", "us-east-2c"),
    "us-west-2": ("us-west-2a", "us-west-2b", "us-west-2c", "us-west-2d"),
    "ca-central-1": ("ca-central-1a", "ca-central-1b", "ca-central-1d"),
    "eu-west-1": ("eu-west-1a", "eu-west-1b", "eu-west-1c"),
    "eu-west-2": ("eu-west-2a", "eu-west-2b", "eu-west-2c"),
    "eu-west-3": ("eu-west-3a", "eu-west-3b", "eu-west-3c"),
    "eu-central-1": ("eu-central-1a", "eu-central-1b", "eu-central-1c"),
    "eu-north-1": ("eu-north-1a", "eu-north-1b", "eu-north-1c"),
    "ap-northeast-1": ("ap-northeast-1a", "ap-northeast-1c", "ap-northeast-1d"),
    "ap-northeast-2": ("ap-northeast-2a", "ap-northeast-2b", "ap-northeast-2c", "ap-northeast-2d"),
    "ap-southeast-1": ("ap-southeast-1a", "ap-southeast-1b", "ap-southeast-1c"),
    "ap-southeast-2": ("ap-southeast-2a", "ap-southeast-2b", "ap-southeast-2c"),
    "ap-south-1": ("ap-south-1a", "ap-south-1b", "ap-south-1c"),
    "sa-east-1": ("sa-east-1a", "sa-east-1b", "sa-east-1c"),
}

REGIONS: dict[str, frozenset[str]] = {"aws": AWS_REGIONS, "azure": AZURE_REGIONS, "gcp": GCP_REGIONS}


def default_zones(cloud: str, region: str) -> list[str]:
    """Availability zones used when a cluster does not list its own."""
    if cloud == "aws":
        return list(AWS_ZONES.get(region, ())[:3])
    if cloud == "azure":
        return ["1", "2", "3"]
    return []  # GKE regional clusters pick the region's zones themselves
