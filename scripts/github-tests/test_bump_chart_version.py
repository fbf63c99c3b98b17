"""Tests of .github/scripts/bump-chart-version.py (the chart-release workflow's edit of platform/)."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import unittest
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / ".github" / "scripts" / "bump-chart-version.py"
APP = REPO / "platform" / "argocd" / "application.yaml"

MULTI = """\
# comment kept
apiVersion: argoproj.io/v1alpha1
kind: Application
spec:
  sources:
    - repoURL: https://github.com/o/r.git
      targetRevision: main   # the values repo, not the chart
      ref: values
    - repoURL: ghcr.io/o/charts
      chart: onlineboutique
      targetRevision: "0.1.0" # pinned
      helm:
        releaseName: onlineboutique
"""

SINGLE = """\
spec:
  source:
    repoURL: ghcr.io/o/charts
    chart: onlineboutique
    targetRevision: 0.1.0
"""


class Bump(unittest.TestCase):
    def setUp(self):
        self.dir = Path(tempfile.mkdtemp(prefix="bump-chart-"))
        self.addCleanup(shutil.rmtree, self.dir, True)

    def run_on(self, text: str, version: str) -> tuple[subprocess.CompletedProcess, str]:
        f = self.dir / "application.yaml"
        f.write_text(text)
        r = subprocess.run([sys.executable, str(SCRIPT), str(f), version],
                           capture_output=True, text=True)
        return r, f.read_text()

    def test_bumps_only_the_chart_source_and_keeps_everything_else(self):
        r, out = self.run_on(MULTI, "0.12.0")
        self.assertEqual((r.returncode, r.stdout.strip()), (0, "changed"), r.stderr)
        self.assertEqual(out, MULTI.replace('"0.1.0"', '"0.12.0"'))
        doc = yaml.safe_load(out)
        self.assertEqual(doc["spec"]["sources"][0]["targetRevision"], "main")

    def test_single_source(self):
        r, out = self.run_on(SINGLE, "1.2.3-rc.1")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(out, SINGLE.replace("0.1.0", "1.2.3-rc.1"))

    def test_same_version_is_unchanged(self):
        r, out = self.run_on(SINGLE, "0.1.0")
        self.assertEqual((r.returncode, r.stdout.strip(), out), (0, "unchanged", SINGLE))

    def test_rejects_a_non_semver_and_a_file_without_the_chart(self):
        r, out = self.run_on(SINGLE, "0.1.0; rm -rf /")
        self.assertEqual((r.returncode, out), (1, SINGLE))
        r, _ = self.run_on(SINGLE.replace("onlineboutique", "other"), "0.2.0")
        self.assertEqual(r.returncode, 1)
        self.assertIn("no Argo CD source", r.stderr)

    @unittest.skipUnless(APP.exists(), "platform/argocd/application.yaml not written yet")
    def test_the_real_platform_application(self):
        text = APP.read_text()
        r, out = self.run_on(text, "99.0.0")
        self.assertEqual(r.returncode, 0, r.stderr)
        before, after = yaml.safe_load(text), yaml.safe_load(out)
        chart_sources = [s for s in after["spec"].get("sources", [after["spec"].get("source")])
                         if s.get("chart") == "onlineboutique"]
        self.assertEqual([s["targetRevision"] for s in chart_sources], ["99.0.0"])
        diff = [(a, b) for a, b in zip(text.splitlines(), out.splitlines()) if a != b]
        self.assertEqual(len(diff), 1, diff)
        self.assertEqual(len(text.splitlines()), len(out.splitlines()))
        self.assertNotEqual(before, after)


if __name__ == "__main__":
    unittest.main()
