"""Two projects of one name (names are not unique in Dokploy), created at once after a first one,
so that a kill can catch both creates in flight."""

import pulumi
from pulumi import ResourceOptions

from dokploy_pulumi import Project

base = Project("base", name="twins-base")
twins = [Project(f"twin_{x}", name="recover-twin", opts=ResourceOptions(depends_on=[base])) for x in ("a", "b")]
pulumi.export("twin_ids", [t.id for t in twins])
