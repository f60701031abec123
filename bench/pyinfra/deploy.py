"""
pyinfra side of the benchmark: the bench role's 41 tasks (bench/kiln/roles/bench/tasks/main.yml)
as pyinfra 3 operations, with the same variables (bench/kiln/roles/bench/defaults/main.yml, with
bench_tool = pyinfra) and the same template files (bench/kiln/roles/bench/templates).

Run by the benchmark driver:  pyinfra -y --parallel N INVENTORY bench/pyinfra/deploy.py
(the driver writes the inventory: bench/driver/pyinfra.ts). Where pyinfra has no operation with
the same meaning, the nearest idiomatic pyinfra is used, and bench/README.md says so:
- templates: Ansible renders with trim_blocks=True (the newline right after a block tag is
  dropped) and pyinfra's template environment does not; the same rule is applied to the template's
  source before it is handed to files.template, so the files come out identical;
- line edits: files.line(path, "^keyN=", replace="keyN=valueN") creates the file when missing (as
  root, 0644 under the default umask: lineinfile's create/owner/mode of the other tools);
- the parent directory: Ansible's and Kiln's `file` give the parents they create the task's owner,
  group and mode; pyinfra's files.directory does not, so the root gets its own operation;
- guarded commands (`creates`): a File fact of the guard path, the command queued when it is absent;
- daemon-reload: one systemd.daemon_reload() when any unit file changed (_if=any_changed), then
  the five services started and enabled (Ansible: daemon_reload on each service whose unit
  changed; Kiln: daemon_reload when systemd reports the unit changed on disk).
"""

import io
import os
import re

import yaml
from pyinfra import host
from pyinfra.facts.files import File
from pyinfra.operations import apt, files, server, systemd
from pyinfra.operations.util import any_changed

HERE = os.path.dirname(os.path.abspath(__file__))
ROLE = os.path.join(HERE, "..", "kiln", "roles", "bench")

with open(os.path.join(ROLE, "defaults", "main.yml")) as f:
    defaults = yaml.safe_load(f)

TOOL = "pyinfra"
ROOT = f"/opt/kbench-{TOOL}"
OWNER = defaults["bench_owner"]
# The variables the templates use (bench_root is Jinja in the defaults file: resolved here).
VARS = {k: v for k, v in defaults.items() if k not in ("bench_tool", "bench_root")}
VARS.update(bench_tool=TOOL, bench_root=ROOT, inventory_hostname=host.name)

# A block or comment tag's end followed by a newline: trim_blocks drops that newline.
_TRIM = re.compile(r"([%#]\})\n")


def template_source(name):
    """The template's text with Ansible's trim_blocks rule applied (see the module docstring)."""
    with open(os.path.join(ROLE, "templates", name)) as f:
        return io.StringIO(_TRIM.sub(r"\1", f.read()))


# Ansible's file module (and Kiln's) gives the parent directories it creates for d1 the task's
# owner, group and mode; pyinfra's `mkdir -p` leaves them root 0755: one more operation says it.
files.directory(name="directory root", path=ROOT, present=True, user=OWNER, group=OWNER, mode="0750")

for i in range(1, 6):
    files.directory(
        name=f"directory d{i}", path=f"{ROOT}/d{i}", present=True, user=OWNER, group=OWNER, mode="0750"
    )

for i in range(1, 6):
    files.put(
        name=f"file f{i}",
        src=io.StringIO(f"benchmark file {i}\n"),
        dest=f"{ROOT}/d{i}/f{i}.txt",
        user=OWNER,
        group=OWNER,
        mode="0640",
    )

for i in range(1, 11):
    files.template(
        name=f"template conf{i}",
        src=template_source(f"conf{i}.conf.j2"),
        dest=f"{ROOT}/d{(i - 1) % 5 + 1}/conf{i}.conf",
        user="root",
        group="root",
        mode="0644",
        **VARS,
    )

apt.packages(name="packages", packages=defaults["bench_packages"], present=True)

units = [
    files.template(
        name=f"unit svc{i}",
        src=template_source("svc.service.j2"),
        dest=f"/etc/systemd/system/kbench-{TOOL}-{i}.service",
        user="root",
        group="root",
        mode="0644",
        svc=i,
        **VARS,
    )
    for i in range(1, 6)
]

systemd.daemon_reload(name="daemon-reload when a unit file changed", _if=any_changed(*units))

for i in range(1, 6):
    systemd.service(name=f"service svc{i}", service=f"kbench-{TOOL}-{i}.service", running=True, enabled=True)

for i in range(1, 6):
    files.line(name=f"line edit {i}", path=f"{ROOT}/settings.ini", line=f"^key{i}=", replace=f"key{i}=value{i}")

for i in range(1, 6):
    guard = f"{ROOT}/done{i}"
    if host.get_fact(File, path=guard) is None:
        server.shell(name=f"guarded command {i}", commands=[f"/usr/bin/touch {guard}"])
