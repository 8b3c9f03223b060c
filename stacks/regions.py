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

REGIONS: dict[str, frozenset[str]] = {"aws": AWS_REGIONS, "azure": AZURE_REGIONS, "gcp": GCP_REGIONS}


def default_zones(cloud: str, region: str) -> list[str]:
    """Availability zones used when a cluster does not list its own."""
    if cloud == "aws":
        return [f"{region}a", f"{region}b", f"{region}c"]
    if cloud == "azure":
        return ["1", "2", "3"]
    return []  # GKE regional clusters pick the region's zones themselves
