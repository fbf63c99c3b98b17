"""promtool on the PrometheusRules of platform/monitoring.

Extracts `spec` of every PrometheusRule into a plain rule file, runs `promtool check rules` and, next to a
copy of monitoring/tests/rules.test.yaml, `promtool test rules`; then checks that every alert has a test
case where it fires and one where it stays silent.
"""

from __future__ import annotations

import pathlib
import shutil
import subprocess

import yaml

from common import PLATFORM, Failures, find, load_yaml

TEST_FILE = PLATFORM / "monitoring" / "tests" / "rules.test.yaml"


def run(workdir: pathlib.Path) -> bool:
    f = Failures()
    workdir.mkdir(parents=True, exist_ok=True)
    groups = []
    for pr in find("PrometheusRule"):
        groups += pr["spec"]["groups"]
    tests = load_yaml(TEST_FILE)
    rule_files = tests.get("rule_files", [])
    if len(rule_files) != 1:
        f.add(f"{TEST_FILE.name}: rule_files must name the one extracted file")
        return f.ok("")
    rules_path = workdir / rule_files[0]
    rules_path.write_text(yaml.safe_dump({"groups": groups}, sort_keys=False))
    shutil.copy(TEST_FILE, workdir / TEST_FILE.name)
    for args in (["check", "rules", rules_path.name], ["test", "rules", TEST_FILE.name]):
        p = subprocess.run(["promtool", *args], cwd=workdir, capture_output=True, text=True)
        if p.returncode != 0:
            f.add(f"promtool {' '.join(args)} failed:\n{p.stdout}{p.stderr}")
    alerts = {r["alert"] for g in groups for r in g["rules"] if "alert" in r}
    fires, silent = set(), set()
    for t in tests.get("tests", []):
        for a in t.get("alert_rule_test", []):
            (fires if a.get("exp_alerts") else silent).add(a["alertname"])
    for a in sorted(alerts - fires):
        f.add(f"alert {a} has no test where it fires")
    for a in sorted(alerts - silent):
        f.add(f"alert {a} has no test where it stays silent")
    for a in sorted((fires | silent) - alerts):
        f.add(f"{TEST_FILE.name} tests alert {a}, which no rule defines")
    n = sum(len(g["rules"]) for g in groups)
    return f.ok(f"promtool: {n} rules valid; {len(alerts)} alerts each tested firing and silent")
