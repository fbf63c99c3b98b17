"""Project rules for .github/workflows that actionlint and zizmor do not state the way we want.

- every `uses:` of an action from another repository is pinned to a 40-hex commit with a
  `# vX.Y.Z` comment; local actions (`./...`) are fine;
- the workflow denies everything by default (`permissions: {}`) and each job declares its own
  permissions and a `timeout-minutes`; the workflow has a `concurrency` group;
- no `${{ ... }}` inside any `run:` script (values go through `env:`);
- ci.yaml: the image matrix is the change-detection output; images are multi-arch, scanned by
  Trivy as a hard gate, attested (SBOM + provenance), cached in GHA, and pushed on main only with
  the tags sha-<40>, sha-<7>, latest; the test job runs the README's test command.
"""

from __future__ import annotations

import re
import unittest
from pathlib import Path

import yaml

WORKFLOWS = Path(__file__).resolve().parents[2] / ".github" / "workflows"
PIN = re.compile(r"^\s*-?\s*uses:\s*([^@\s]+)@([0-9a-f]{40})\s+#\s*v\d+(\.\d+){0,2}\s*$")


def load(path: Path) -> dict:
    doc = yaml.safe_load(path.read_text())
    if True in doc:  # YAML 1.1 reads the key `on` as True
        doc["on"] = doc.pop(True)
    return doc


def steps(job: dict) -> list[dict]:
    return job.get("steps", [])


class AllWorkflows(unittest.TestCase):
    files = sorted(WORKFLOWS.glob("*.y*ml"))

    def test_there_are_workflows(self):
        names = {p.name for p in self.files}
        self.assertTrue({"ci.yaml", "helm-chart-ci.yaml", "chart-release.yaml"} <= names, names)

    def test_actions_are_pinned_by_commit_with_version_comment(self):
        for path in self.files:
            for n, line in enumerate(path.read_text().splitlines(), 1):
                if re.match(r"^\s*-?\s*uses:", line) and "uses: ./" not in line:
                    with self.subTest(file=path.name, line=n):
                        self.assertRegex(line, PIN, "pin actions as owner/repo@<40-hex> # vX.Y.Z")

    def test_permissions_timeouts_concurrency(self):
        for path in self.files:
            doc = load(path)
            with self.subTest(file=path.name):
                self.assertEqual(doc.get("permissions"), {}, "top-level permissions must be {}")
                self.assertIn("concurrency", doc)
            for name, job in doc["jobs"].items():
                with self.subTest(file=path.name, job=name):
                    self.assertIn("permissions", job)
                    self.assertIsInstance(job.get("timeout-minutes"), int)
                    self.assertLessEqual(job["timeout-minutes"], 120)
                    perms = job["permissions"] or {}
                    self.assertNotIn("write-all", str(perms))
                    for scope, level in perms.items():
                        self.assertIn(level, ("read", "write", "none"), scope)

    def test_no_expressions_inside_run_scripts(self):
        for path in self.files:
            for name, job in load(path)["jobs"].items():
                for step in steps(job):
                    if "run" in step:
                        with self.subTest(file=path.name, job=name, step=step.get("name")):
                            self.assertNotIn("${{", step["run"])

    def test_checkouts_do_not_persist_credentials(self):
        for path in self.files:
            for name, job in load(path)["jobs"].items():
                for step in steps(job):
                    if str(step.get("uses", "")).startswith("actions/checkout@"):
                        with self.subTest(file=path.name, job=name):
                            self.assertIs(step.get("with", {}).get("persist-credentials"), False)

    def test_container_images_are_pinned_by_digest(self):
        for path in self.files:
            for name, job in load(path)["jobs"].items():
                images = []
                if "container" in job:
                    c = job["container"]
                    images.append(c["image"] if isinstance(c, dict) else c)
                images += [svc["image"] for svc in job.get("services", {}).values()]
                for image in images:
                    with self.subTest(file=path.name, job=name):
                        self.assertRegex(image, r"@sha256:[0-9a-f]{64}$")

    def test_no_pull_request_target(self):
        for path in self.files:
            self.assertNotIn("pull_request_target", load(path)["on"], path.name)


class CI(unittest.TestCase):
    def setUp(self):
        self.doc = load(WORKFLOWS / "ci.yaml")
        self.jobs = self.doc["jobs"]
        self.image = self.jobs["image"]

    def step(self, job: dict, uses_prefix: str) -> list[dict]:
        return [s for s in steps(job) if str(s.get("uses", "")).startswith(uses_prefix)]

    def test_triggers(self):
        on = self.doc["on"]
        self.assertIn("pull_request", on)
        self.assertEqual(on["push"]["branches"], ["main"])

    def test_matrix_is_the_change_detection_output(self):
        detect = self.jobs["changes"]
        run = " ".join(s.get("run", "") for s in steps(detect))
        self.assertIn("scripts/changed-services.py", run)
        self.assertEqual(self.image["strategy"]["matrix"]["service"],
                         "${{ fromJSON(needs.changes.outputs.services) }}")
        self.assertIn("needs.changes.outputs.services != '[]'", self.image["if"])
        self.assertTrue({"changes", "rust", "deny", "trivy-fs"} <= set(self.image["needs"]))

    def test_rust_job_runs_fmt_clippy_and_the_readme_test_command(self):
        self.assertIn("bookworm", self.jobs["rust"]["container"]["image"])  # the developers' Debian 12
        run = "\n".join(s.get("run", "") for s in steps(self.jobs["rust"]))
        self.assertIn("cargo fmt --all --check", run)
        self.assertRegex(run, r"cargo clippy .*--all-targets.*-- -D warnings")
        self.assertIn("bash scripts/test.sh", run)
        deny = "\n".join(s.get("run", "") for s in steps(self.jobs["deny"]))
        self.assertIn("cargo deny check advisories bans licenses sources", deny)

    def test_trivy_is_a_hard_gate_on_fs_and_image(self):
        scans = self.step(self.jobs["trivy-fs"], "aquasecurity/trivy-action@") + \
            self.step(self.image, "aquasecurity/trivy-action@")
        self.assertEqual(sorted(s["with"]["scan-type"] for s in scans), ["fs", "image"])
        for s in scans:
            with self.subTest(scan=s["with"]["scan-type"]):
                self.assertEqual(str(s["with"]["exit-code"]), "1")
                self.assertEqual(s["with"]["severity"], "CRITICAL,HIGH")
                self.assertNotIn(str(s["with"].get("ignore-unfixed", "false")).lower(), ("true",))
        # the image is scanned before the publishing build
        order = [s.get("uses", s.get("name", "")) for s in steps(self.image)]
        scan_at = next(i for i, u in enumerate(order) if u.startswith("aquasecurity/trivy-action@"))
        bakes = [i for i, u in enumerate(order) if u.startswith("docker/bake-action@")]
        self.assertEqual(len(bakes), 2)
        self.assertLess(bakes[0], scan_at)
        self.assertLess(scan_at, bakes[1])

    def test_publishing_build(self):
        scan_build, build = self.step(self.image, "docker/bake-action@")
        self.assertEqual(scan_build["with"]["targets"], "${{ matrix.service }}")
        self.assertIs(scan_build["with"]["load"], True)
        w = build["with"]
        self.assertEqual(w["targets"], "${{ matrix.service }}")
        self.assertEqual(w["files"], "docker-bake.hcl")
        self.assertIs(w["sbom"], True)
        self.assertEqual(w["provenance"], "mode=max")
        self.assertIn("*.platform=linux/amd64", w["set"])
        self.assertIn("*.platform=linux/arm64", w["set"])
        self.assertIn("type=gha", w["set"])
        self.assertEqual(w["push"], "${{ steps.meta.outputs.publish == 'true' }}")
        meta = next(s for s in steps(self.image) if s.get("id") == "meta")
        self.assertEqual(meta["env"]["PUBLISH"],
                         "${{ github.event_name != 'pull_request' && github.ref == 'refs/heads/main' }}")
        for tag in ('${image}:sha-${SHA}"', '${image}:sha-${SHA:0:7}"', '${image}:latest"'):
            self.assertIn(tag, meta["run"])
        self.assertIn('image="ghcr.io/${OWNER,,}/online-boutique/${SERVICE}"', meta["run"])
        login = self.step(self.image, "docker/login-action@")[0]
        self.assertEqual(login["if"], "steps.meta.outputs.publish == 'true'")
        self.assertEqual(self.image["permissions"], {"contents": "read", "packages": "write"})


class ChartWorkflows(unittest.TestCase):
    def test_helm_chart_ci_runs_the_local_check_script(self):
        doc = load(WORKFLOWS / "helm-chart-ci.yaml")
        self.assertIn("helm/**", doc["on"]["pull_request"]["paths"])
        runs = [s.get("run", "") for j in doc["jobs"].values() for s in steps(j)]
        self.assertIn("bash scripts/check-helm.sh", runs)

    def test_chart_release_uses_the_cd_token_only_through_env_and_inputs(self):
        text = (WORKFLOWS / "chart-release.yaml").read_text()
        doc = load(WORKFLOWS / "chart-release.yaml")
        self.assertEqual(doc["on"]["push"]["branches"], ["main"])
        pin = doc["jobs"]["pin"]
        self.assertEqual(pin["permissions"], {})
        for step in steps(pin):
            self.assertNotIn("CD_REPO_TOKEN }}", step.get("run", ""))
        self.assertIn("secrets.CD_REPO_TOKEN", text)
        pr = next(s for s in steps(pin) if "gh pr create" in s.get("run", ""))
        self.assertEqual(pr["env"]["GH_TOKEN"], "${{ secrets.CD_REPO_TOKEN }}")
        self.assertIn("credential.helper", pr["run"])
        self.assertNotRegex(pr["run"], r"https://[^ ]*@")  # no token in a URL
        publish = doc["jobs"]["publish"]
        self.assertEqual(publish["permissions"], {"contents": "read", "packages": "write"})
        run = "\n".join(s.get("run", "") for s in steps(publish))
        self.assertIn("--password-stdin", run)
        self.assertIn('helm push "$RUNNER_TEMP/chart/onlineboutique-$VERSION.tgz" "$REPO"', run)


class WhereThingsArePublished(unittest.TestCase):
    """The registry paths CI pushes to are the ones the chart and platform/ pull from."""

    OWNER = "boutique-rs"  # docs/CONVENTIONS.md: ghcr.io/boutique-rs/online-boutique
    ROOT = WORKFLOWS.parents[1]

    def test_images(self):
        run = next(s["run"] for s in steps(load(WORKFLOWS / "ci.yaml")["jobs"]["image"])
                   if s.get("id") == "meta")
        image_repo = re.search(r'image="([^"]+)/\$\{SERVICE\}"', run).group(1)
        image_repo = image_repo.replace("${OWNER,,}", self.OWNER)
        values = self.ROOT / "helm" / "onlineboutique" / "values.yaml"
        if values.exists():
            self.assertEqual(yaml.safe_load(values.read_text())["images"]["repository"], image_repo)
        updater = self.ROOT / "platform" / "argocd" / "imageupdater.yaml"
        if updater.exists():
            names = re.findall(r"imageName:\s*(\S+)", updater.read_text())
            self.assertTrue(names)
            for name in names:
                self.assertTrue(name.startswith(image_repo + "/"), name)

    def test_chart(self):
        run = "\n".join(s.get("run", "") for s in
                        steps(load(WORKFLOWS / "chart-release.yaml")["jobs"]["publish"]))
        repo = re.search(r'repo=oci://([^"]+)"', run).group(1).replace("${OWNER,,}", self.OWNER)
        app = self.ROOT / "platform" / "argocd" / "application.yaml"
        if not app.exists():
            self.skipTest("platform/argocd/application.yaml not written yet")
        spec = yaml.safe_load(app.read_text())["spec"]
        sources = spec.get("sources") or [spec.get("source")]
        charts = [s for s in sources if s.get("chart") == "onlineboutique"]
        self.assertEqual([s["repoURL"] for s in charts], [repo])


if __name__ == "__main__":
    unittest.main()
