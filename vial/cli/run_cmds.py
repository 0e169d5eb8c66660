"""``vial run``: verify an image against a policy, then run exactly the verified bytes."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from vial.cli import cli
from vial.cli.output import Output


def _input(value: str) -> tuple[Path, str]:
    host, sep, target = value.rpartition(":")
    if not sep or not host or not target.startswith("/"):
        raise click.BadParameter(f"{value!r}: expected HOST_PATH:/container/path")
    return Path(host), target


@cli.command(context_settings={"ignore_unknown_options": False})
@click.argument("ref")
@click.argument("command", nargs=-1, type=click.UNPROCESSED)
@click.option(
    "--policy",
    "policy_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Run only if this policy passes (default: provenance signed by a signer in `vial trust list`).",
)
@click.option(
    "--insecure-skip-verify",
    is_flag=True,
    help="UNSAFE: run without checking signatures or policy (blobs are still rehashed).",
)
@click.option(
    "--runtime",
    type=click.Choice(["auto", "docker", "bwrap"]),
    default="auto",
    show_default=True,
    help="Docker engine, or bubblewrap on a root filesystem vial unpacks (no daemon).",
)
@click.option(
    "--outputs", type=click.Path(file_okay=False, path_type=Path), help="Directory mounted read-write at /outputs."
)
@click.option(
    "--input",
    "inputs",
    multiple=True,
    metavar="HOST:CONTAINER",
    help="Mount a host file or directory read-only (repeatable).",
)
@click.option("--network", is_flag=True, help="Give the container the host's network (off by default).")
@click.option("--writable-root", is_flag=True, help="Make the root filesystem writable (read-only by default).")
@click.option("--memory", help="Memory limit, e.g. 2g.")
@click.option("--cpus", type=float, help="CPU limit, e.g. 1.5 (Docker runtime).")
@click.option("--pids-limit", type=int, help="Maximum number of processes (Docker runtime).")
@click.option("-e", "--env", "env", multiple=True, help="KEY=VALUE set in the container (repeatable).")
@click.pass_obj
def run(
    out: Output,
    ref: str,
    command: tuple[str, ...],
    policy_file: Path | None,
    insecure_skip_verify: bool,
    runtime: str,
    outputs: Path | None,
    inputs: tuple[str, ...],
    network: bool,
    writable_root: bool,
    memory: str | None,
    cpus: float | None,
    pids_limit: int | None,
    env: tuple[str, ...],
) -> None:
    """Verify image REF against a policy, then run it, optionally with a command after --.

    REF: name[:version], a digest, an OCI layout directory or an archive of one.
    """
    from vial.api import run as run_image

    if insecure_skip_verify:
        if policy_file is not None:
            raise click.UsageError("--insecure-skip-verify and --policy contradict each other")
        click.echo(
            "vial: WARNING: --insecure-skip-verify: running an image whose signatures and policy were NOT "
            "checked; anyone who could write to the store chose what runs",
            err=True,
        )
    result = run_image(
        ref,
        command,
        policy=policy_file,
        insecure_skip_verify=insecure_skip_verify,
        runtime=runtime,  # type: ignore[arg-type]
        outputs=outputs,
        inputs=[_input(item) for item in inputs],
        env=dict(item.split("=", 1) for item in env if "=" in item),
        network=network,
        writable_root=writable_root,
        memory=memory,
        cpus=cpus,
        pids_limit=pids_limit,
        log=out.status,
    )
    sys.exit(result.exit_code)
