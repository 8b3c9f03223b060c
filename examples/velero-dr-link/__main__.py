"""VeleroDrLink on its own: on a cluster whose Velero was installed with this peer as its DR peer
(projected token and the peer's plugin), a read-only location over the peer's S3 backups, reached
with web identity (a role the peer's account trusts for this cluster's velero/velero service
account: no key anywhere).

Planned under the mock engine by tests/test_package.py; with the Pulumi CLI,
``pulumi config set kubeconfig --secret "$(cat ~/.kube/config)"``, ``pulumi config set peerRoleArn
arn:aws:iam::...`` and ``pulumi preview``.
"""

import pulumi
import pulumi_kubernetes as k8s

from components.addons.velero import VeleroDrLink, VeleroDrLinkArgs

config = pulumi.Config()
provider = k8s.Provider("reader", kubeconfig=config.get_secret("kubeconfig") or "{}")
role_arn = config.get("peerRoleArn") or "arn:aws:iam::111122223333:role/shop-velero-dr-reader"
# AWS shared config: assume the role with the projected token Velero mounts for DR peers.
credential_file = pulumi.Output.secret(
    f"[default]\nrole_arn = {role_arn}\nweb_identity_token_file = /var/run/secrets/velero-dr/token\nregion = eu-west-1\n")

link = VeleroDrLink(
    "shop-dr",
    VeleroDrLinkArgs(
        kubernetes_provider=provider,
        peer="shop-eu",
        plugin="velero.io/aws",
        bucket=config.get("peerBucket") or "shop-eu-backups",
        location_config={"region": "eu-west-1"},
        credential_file=credential_file,
    ),
)

pulumi.export("location", link.location)
