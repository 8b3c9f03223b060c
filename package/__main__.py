"""Entry point the Pulumi CLI runs for the component package: serves ``components.package``'s
public components over the provider protocol (schema inferred by the SDK's analyzer)."""

import sys
from pathlib import Path

# The CLI starts the plugin from this folder; the components live at the repository root.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pulumi.provider.experimental import component_provider_host

from components.package import PACKAGE_NAME, PACKAGE_VERSION, PUBLIC_COMPONENTS

if __name__ == "__main__":
    component_provider_host(PUBLIC_COMPONENTS, name=PACKAGE_NAME, version=PACKAGE_VERSION)
