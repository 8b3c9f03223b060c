"""Explicit cloud providers, one per (cloud, region), shared by every cluster there.

The project disables default providers (``pulumi:disable-default-providers: ["*"]``), so every
cloud resource must name one of these.
"""

from __future__ import annotations

import pulumi
import pulumi_aws as aws
import pulumi_azure_native as azure_native
import pulumi_gcp as gcp


class CloudProviders:
    """Creates each provider the first time it is asked for, with a deterministic name."""

    def __init__(self, *, environment: str, gcp_project: str | None):
        self._environment = environment
        self._gcp_project = gcp_project
        self._cache: dict[tuple[str, str], pulumi.ProviderResource] = {}

    def _tags(self) -> dict[str, str]:
        return {"archipelago/environment": self._environment, "managed-by": "pulumi-archipelago"}

    def aws(self, region: str) -> aws.Provider:
        key = ("aws", region)
        if key not in self._cache:
            self._cache[key] = aws.Provider(
                f"aws-{region}",
                region=region,
                default_tags=aws.ProviderDefaultTagsArgs(tags=self._tags()),
            )
        return self._cache[key]  # type: ignore[return-value]

    def azure(self, region: str) -> azure_native.Provider:
        # azure-native resources carry their own location; one provider serves every region.
        key = ("azure", "*")
        if key not in self._cache:
            self._cache[key] = azure_native.Provider("azure")
        return self._cache[key]  # type: ignore[return-value]

    def gcp(self, region: str) -> gcp.Provider:
        key = ("gcp", region)
        if key not in self._cache:
            self._cache[key] = gcp.Provider(
                f"gcp-{region}",
                project=self._gcp_project,
                region=region,
                default_labels={k.replace("/", "-"): v for k, v in self._tags().items()},
            )
        return self._cache[key]  # type: ignore[return-value]

    def for_cluster(self, cloud: str, region: str) -> pulumi.ProviderResource:
        return {"aws": self.aws, "azure": self.azure, "gcp": self.gcp}[cloud](region)
