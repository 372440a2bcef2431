"""A Pulumi program's use of every look-up, as mypy --strict must accept it (tests/typing/test_typing.py).

Never run, only type-checked: each call's result is bound to the type a user would write.
"""

from __future__ import annotations

import pulumi

import dokploy_pulumi as dokploy
from dokploy_pulumi import (
    Connection,
    DokployClient,
    EnvironmentDetail,
    EnvironmentInfo,
    EnvironmentRow,
    ProjectCreateResult,
    ProjectDetail,
    ProjectInfo,
    ProjectRow,
    SearchPage,
    SearchResult,
    ServiceRef,
)


def plain_forms(connection: Connection) -> None:
    shop: ProjectInfo = dokploy.get_project(name="shop")
    by_id: ProjectInfo = dokploy.get_project(project_id=shop.id, connection=connection)
    staging: EnvironmentInfo = dokploy.get_environment(project_id=by_id.id, name="staging")
    same: EnvironmentInfo = dokploy.get_environment(environment_id=staging.id, opts=pulumi.InvokeOptions())
    prod: EnvironmentInfo = dokploy.get_default_environment(shop.id)
    projects: list[ProjectInfo] = dokploy.list_projects()
    envs: list[EnvironmentInfo] = dokploy.list_environments(shop.id, connection=connection)
    page: SearchResult[ProjectInfo] = dokploy.search_projects(name="web", limit=20, offset=0)
    env_page: SearchResult[EnvironmentInfo] = dokploy.search_environments(q="review", project_id=shop.id)
    default_id: str | None = shop.default_environment_id
    total: int = page.total + env_page.total
    print(same.is_default, prod.name, len(projects), len(envs), default_id, total)


def output_forms(app: dokploy.Project, name: pulumi.Input[str]) -> None:
    after_app = pulumi.InvokeOutputOptions(depends_on=[app])
    shop: pulumi.Output[ProjectInfo] = dokploy.get_project_output(name=name, opts=after_app)
    by_id: pulumi.Output[ProjectInfo] = dokploy.get_project_output(project_id=app.id)
    staging: pulumi.Output[EnvironmentInfo] = dokploy.get_environment_output(project_id=app.id, name="staging")
    same: pulumi.Output[EnvironmentInfo] = dokploy.get_environment_output(
        environment_id=staging.id, opts=pulumi.InvokeOptions(parent=app)
    )
    prod: pulumi.Output[EnvironmentInfo] = dokploy.get_default_environment_output(app.id)
    projects: pulumi.Output[list[ProjectInfo]] = dokploy.list_projects_output(opts=after_app)
    envs: pulumi.Output[list[EnvironmentInfo]] = dokploy.list_environments_output(project_id=app.id)
    page: pulumi.Output[SearchResult[ProjectInfo]] = dokploy.search_projects_output(
        q=name, description="shop", limit=pulumi.Output.from_input(5), offset=0
    )
    env_page: pulumi.Output[SearchResult[EnvironmentInfo]] = dokploy.search_environments_output(
        name="review", project_id=app.id, connection=Connection(url="https://dokploy.example.com")
    )
    pulumi.export("ids", pulumi.Output.all(shop.id, by_id.id, same.id, prod.id))
    pulumi.export("counts", pulumi.Output.all(projects, envs, page, env_page))


def client_models(client: DokployClient) -> None:
    made: ProjectCreateResult = client.project.create("shop")
    detail: ProjectDetail = client.project.one(made.project.project_id)
    rows: SearchPage[ProjectRow] = client.project.search(name="shop")
    default: EnvironmentRow | None = detail.default_environment()
    env: EnvironmentDetail = client.environment.one(default.environment_id if default else "")
    services: list[ServiceRef] = env.services()
    print(rows.total, [s.type for s in services])
