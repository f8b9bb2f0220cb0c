"""`tidemark projects create`."""

import argparse

from infra.wiring.cli.common import registry_for


def cmd_projects_create(args) -> int:
    from commands.artifacts.messages import CreateProject
    from domain.base import Actor

    with registry_for(args, "projects create") as registry:
        registry.commands.create_project(CreateProject(args.name, not args.private, Actor(name="cli")))
        registry.projector.catch_up()
        print(f"created project {args.name} ({'private' if args.private else 'public'})")
    return 0


def add_parser(sub) -> None:
    projects = sub.add_parser("projects", help="manage projects").add_subparsers(dest="verb", required=True)
    create = projects.add_parser("create", help="create a project")
    create.add_argument("name")
    create.add_argument("--private", action="store_true", help="no anonymous pull")
    create.add_argument("--data-dir", default=argparse.SUPPRESS)
    create.set_defaults(func=cmd_projects_create)
