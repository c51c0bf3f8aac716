"""The README's scale-out examples are commands the CLI accepts and a valid TF_CONFIG."""

import json
import re
import shlex
from pathlib import Path

import yaml

from shared.cli.main import build_parser
from shared.training.cluster import read_tf_config

README = (Path(__file__).resolve().parents[1] / "README.md").read_text()
SECTION = README[README.index("## Scale-out") :]


def _parses(command: str) -> None:
    argv = shlex.split(command)
    assert argv[0] == "dlsuite", command
    build_parser().parse_args(argv[1:])  # exits (SystemExit) on a bad command


def test_every_dlsuite_command_in_the_section_parses():
    commands = re.findall(r"`(dlsuite [^`]+)`", SECTION) + re.findall(r"^\s*(dlsuite .+)$", SECTION, flags=re.M)
    assert len(commands) >= 6
    for command in commands:
        _parses(command.split(" on every machine")[0])


def test_the_shell_tf_config_example_is_valid():
    raw = re.search(r"TF_CONFIG='([^']+)'", SECTION).group(1)
    spec = read_tf_config(raw)
    assert spec.size == 2 and spec.is_chief


def test_the_kubernetes_manifest_is_consistent():
    block = re.search(r"```yaml\n(apiVersion.+?)```", SECTION, flags=re.S).group(1)
    service, job = list(yaml.safe_load_all(block))
    assert service["kind"] == "Service" and service["spec"]["clusterIP"] == "None"
    assert job["kind"] == "Job" and job["spec"]["completionMode"] == "Indexed"
    pod = job["spec"]["template"]["spec"]
    assert pod["subdomain"] == service["metadata"]["name"]
    script = pod["containers"][0]["args"][0]
    exported = re.search(r'export TF_CONFIG="(.+?)" &&', script, flags=re.S).group(1)
    for index in range(job["spec"]["completions"]):
        config = exported.replace('\\"', '"').replace("$JOB_COMPLETION_INDEX", str(index))
        spec = read_tf_config(config)
        assert spec.size == job["spec"]["completions"] and spec.index == index
        # Each address is <job>-<index>.<service>:<port>, resolvable through the headless Service.
        host, port = spec.me.rsplit(":", 1)
        assert host == f"{job['metadata']['name']}-{index}.{service['metadata']['name']}"
        assert int(port) == service["spec"]["ports"][0]["port"] == pod["containers"][0]["ports"][0]["containerPort"]
    _parses(script.split("&&", 1)[1].strip())
    json.dumps(job)  # plain data, nothing YAML-specific
