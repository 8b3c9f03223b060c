"""IstioMesh on its own: a two-cluster multi-primary, multi-network mesh from two kubeconfigs. The
mesh makes its root CA (the key never reaches a cluster) and an intermediate per cluster, installs
Istio on both, and gives each cluster a remote secret to read the other.

Planned under the mock engine by tests/test_package.py; with the Pulumi CLI,
``pulumi config set eastKubeconfig --secret ...``, the same for ``westKubeconfig``, then
``eastApiServer``/``eastApiServerCa`` (and west's) and ``pulumi preview``.
"""

import pulumi
import pulumi_kubernetes as k8s

from components.fleet.mesh import IstioMesh, IstioMeshArgs, MeshClusterArgs

config = pulumi.Config()


def cluster(name: str, region: str) -> MeshClusterArgs:
    provider = k8s.Provider(name, kubeconfig=config.get_secret(f"{name}Kubeconfig") or "{}")
    return MeshClusterArgs(
        name=name, network=f"{name}-net", kubernetes_provider=provider,
        api_server=config.get(f"{name}ApiServer") or f"https://{name}.example.internal",
        api_server_ca=config.get(f"{name}ApiServerCa") or "",
        gateway_annotations={"networking.gke.io/load-balancer-type": "Internal"},
    )


mesh = IstioMesh(
    "shop-mesh",
    IstioMeshArgs(
        mesh_id="shop-mesh",
        clusters=[cluster("east", "us-east1"), cluster("west", "us-west1")],
        locality={"failover": [{"from_locality": "us-east1", "to_locality": "us-west1"},
                               {"from_locality": "us-west1", "to_locality": "us-east1"}]},
    ),
)

pulumi.export("rootCert", mesh.root_cert)
pulumi.export("networks", mesh.networks)
