"""Tests of scripts/changed-services.py on a throw-away git repository built per test.

Run: python3 -m unittest discover -s scripts/github-tests
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import unittest
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[1] / "changed-services.py"
SERVICES = ["adservice", "cartservice", "frontend"]
ENV = {
    **os.environ,
    "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.invalid",
    "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.invalid",
    "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1",
}


class Repo:
    """A scratch repository shaped like ours: workspace files, crates, proto, services."""

    def __init__(self) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="changed-services-"))
        self.git("init", "-q", "-b", "main")
        files = {
            "Cargo.toml": "[workspace]\n", "Cargo.lock": "# lock\n", "README.md": "# shop\n",
            "Dockerfile": "FROM scratch\n", "docker-bake.hcl": "", ".dockerignore": "target\n",
            "docs/CONVENTIONS.md": "x\n", "docs/diagram.svg": "<svg/>\n",
            "proto/Cargo.toml": "[package]\n", "proto/protos/demo.proto": "syntax='proto3';\n",
            "crates/runtime/Cargo.toml": "[package]\n", "crates/runtime/src/lib.rs": "\n",
            "helm/onlineboutique/Chart.yaml": "version: 0.1.0\n",
            "platform/argocd/application.yaml": "kind: Application\n",
            ".github/workflows/ci.yaml": "on: push\n", "scripts/test.sh": "true\n",
            "services/boutique/Cargo.toml": "[package]\n", "services/boutique/src/main.rs": "\n",
        }
        for svc in SERVICES:
            files[f"services/{svc}/Cargo.toml"] = f"[package]\nname = '{svc}'\n"
            files[f"services/{svc}/src/lib.rs"] = f"// {svc}\n"
            files[f"services/{svc}/src/main.rs"] = f"fn main() {{}} // {svc}\n"
            files[f"services/{svc}/README.md"] = f"# {svc}\n"
        for path, text in files.items():
            self.write(path, text)
        self.base = self.commit("initial")

    def git(self, *args: str) -> str:
        return subprocess.run(["git", "-C", str(self.root), *args], check=True, env=ENV,
                              capture_output=True, text=True).stdout.strip()

    def write(self, path: str, text: str = "changed\n") -> None:
        p = self.root / path
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text)

    def append(self, path: str) -> None:
        with open(self.root / path, "a") as f:
            f.write("// more\n")

    def commit(self, msg: str = "change") -> str:
        self.git("add", "-A")
        self.git("commit", "-q", "--allow-empty", "-m", msg)
        return self.git("rev-parse", "HEAD")

    def run(self, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, str(SCRIPT), "--repo", str(self.root), *args],
                              input=stdin, capture_output=True, text=True, env=ENV)

    def changed(self, base: str | None = None, head: str = "HEAD") -> list[str]:
        r = self.run("--base", base or self.base, "--head", head)
        if r.returncode != 0:
            raise AssertionError(r.stderr)
        return json.loads(r.stdout)

    def cleanup(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)


class ChangedServices(unittest.TestCase):
    def setUp(self) -> None:
        self.repo = Repo()
        self.addCleanup(self.repo.cleanup)

    # --- a service's own folder -------------------------------------------------------------
    def test_service_folder_selects_that_service_only(self):
        self.repo.append("services/cartservice/src/lib.rs")
        self.repo.commit()
        self.assertEqual(self.repo.changed(), ["cartservice"])

    def test_two_service_folders(self):
        self.repo.append("services/frontend/src/main.rs")
        self.repo.write("services/adservice/templates/ad.html", "<p/>\n")
        self.repo.commit()
        self.assertEqual(self.repo.changed(), ["adservice", "frontend"])

    def test_service_manifest_is_not_the_workspace_manifest(self):
        self.repo.append("services/adservice/Cargo.toml")
        self.repo.commit()
        self.assertEqual(self.repo.changed(), ["adservice"])

    def test_all_in_one_runner_is_not_an_image(self):
        self.repo.append("services/boutique/src/main.rs")
        self.repo.commit()
        self.assertEqual(self.repo.changed(), [])

    # --- shared inputs rebuild every service ---------------------------------------------------
    def test_shared_inputs_select_every_service(self):
        shared = ["proto/protos/demo.proto", "crates/runtime/src/lib.rs", "Cargo.lock", "Cargo.toml",
                  "Dockerfile", "docker-bake.hcl", ".dockerignore"]
        for path in shared + ["rust-toolchain.toml", "crates/money/src/lib.rs", ".cargo/config.toml"]:
            with self.subTest(path=path):
                before = self.repo.git("rev-parse", "HEAD")
                self.repo.append(path) if (self.repo.root / path).exists() else self.repo.write(path)
                self.repo.commit()
                self.assertEqual(self.repo.changed(base=before), SERVICES)

    def test_shared_input_wins_over_docs(self):
        self.repo.append("README.md")
        self.repo.append("Cargo.lock")
        self.repo.commit()
        self.assertEqual(self.repo.changed(), SERVICES)

    # --- documentation and other workflows' paths select nothing -------------------------------
    def test_docs_only_selects_nothing(self):
        self.repo.append("README.md")
        self.repo.append("docs/CONVENTIONS.md")
        self.repo.write("docs/diagram.svg", "<svg></svg>\n")
        self.repo.append("services/frontend/README.md")
        self.repo.write("crates/runtime/NOTES.md", "notes\n")
        self.repo.commit()
        self.assertEqual(self.repo.changed(), [])

    def test_docs_plus_a_service(self):
        self.repo.append("README.md")
        self.repo.append("services/adservice/src/lib.rs")
        self.repo.commit()
        self.assertEqual(self.repo.changed(), ["adservice"])

    def test_helm_platform_github_and_scripts_select_nothing(self):
        for path in ["helm/onlineboutique/Chart.yaml", "platform/argocd/application.yaml",
                     ".github/workflows/ci.yaml", "scripts/test.sh"]:
            with self.subTest(path=path):
                before = self.repo.git("rev-parse", "HEAD")
                self.repo.append(path)
                self.repo.commit()
                self.assertEqual(self.repo.changed(base=before), [])

    def test_no_change_selects_nothing(self):
        self.repo.commit("empty")
        self.assertEqual(self.repo.changed(), [])

    # --- renames --------------------------------------------------------------------------------
    def test_move_a_file_between_services_selects_both(self):
        self.repo.git("mv", "services/adservice/src/lib.rs", "services/frontend/src/ads.rs")
        self.repo.commit()
        self.assertEqual(self.repo.changed(), ["adservice", "frontend"])

    def test_rename_out_of_a_shared_path_counts_the_old_path(self):
        self.repo.git("mv", "crates/runtime/src/lib.rs", "docs/old-runtime.rs")
        self.repo.commit()
        self.assertEqual(self.repo.changed(), SERVICES)

    def test_rename_into_a_shared_path_counts_the_new_path(self):
        self.repo.git("mv", "docs/diagram.svg", "proto/diagram.svg")
        self.repo.commit()
        self.assertEqual(self.repo.changed(), SERVICES)

    def test_renamed_service_selects_the_new_name_only(self):
        self.repo.git("mv", "services/cartservice", "services/basketservice")
        self.repo.commit()
        self.assertEqual(self.repo.changed(), ["basketservice"])
        r = self.repo.run("--all")
        self.assertEqual(json.loads(r.stdout), ["adservice", "basketservice", "frontend"])

    # --- deletions ------------------------------------------------------------------------------
    def test_deleted_service_is_dropped(self):
        self.repo.git("rm", "-r", "-q", "services/cartservice")
        self.repo.append("services/adservice/src/lib.rs")
        self.repo.commit()
        self.assertEqual(self.repo.changed(), ["adservice"])

    def test_deleted_service_alone_selects_nothing(self):
        self.repo.git("rm", "-r", "-q", "services/frontend")
        self.repo.commit()
        self.assertEqual(self.repo.changed(), [])

    def test_deleted_file_inside_a_service_selects_it(self):
        self.repo.git("rm", "-q", "services/frontend/src/lib.rs")
        self.repo.commit()
        self.assertEqual(self.repo.changed(), ["frontend"])

    def test_service_without_manifest_is_not_a_service(self):
        self.repo.git("rm", "-q", "services/adservice/Cargo.toml")
        self.repo.commit()
        self.assertEqual(self.repo.changed(), [])
        self.assertEqual(json.loads(self.repo.run("--all").stdout), ["cartservice", "frontend"])

    def test_deleted_service_dropped_even_when_everything_rebuilds(self):
        self.repo.git("rm", "-r", "-q", "services/cartservice")
        self.repo.append("Cargo.lock")
        self.repo.commit()
        self.assertEqual(self.repo.changed(), ["adservice", "frontend"])

    # --- revisions --------------------------------------------------------------------------------
    def test_diff_starts_at_the_merge_base(self):
        self.repo.git("checkout", "-q", "-b", "feature")
        self.repo.append("services/adservice/src/lib.rs")
        pr_head = self.repo.commit("pr")
        self.repo.git("checkout", "-q", "main")
        self.repo.append("services/frontend/src/lib.rs")
        main_head = self.repo.commit("main moved on")
        self.assertEqual(self.repo.changed(base=main_head, head=pr_head), ["adservice"])

    def test_new_service_is_selected(self):
        self.repo.write("services/emailservice/Cargo.toml", "[package]\n")
        self.repo.write("services/emailservice/src/main.rs", "fn main() {}\n")
        self.repo.commit()
        self.assertEqual(self.repo.changed(), ["emailservice"])

    def test_unknown_or_zero_base_selects_every_service(self):
        self.repo.append("README.md")
        self.repo.commit()
        for base in ["0" * 40, "1234567890abcdef1234567890abcdef12345678", "no-such-ref"]:
            with self.subTest(base=base):
                r = self.repo.run("--base", base)
                self.assertEqual(r.returncode, 0, r.stderr)
                self.assertEqual(json.loads(r.stdout), SERVICES)
                self.assertIn("every service", r.stderr)

    def test_all_lists_every_image_service(self):
        r = self.repo.run("--all")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout, json.dumps(SERVICES, separators=(",", ":")) + "\n")

    def test_paths_on_stdin(self):
        r = self.repo.run("--stdin", stdin="docs/x.md\nservices/frontend/src/lib.rs\n\nhelm/a\n")
        self.assertEqual(json.loads(r.stdout), ["frontend"])
        r = self.repo.run("--stdin", stdin="./crates/runtime/src/lib.rs\n")
        self.assertEqual(json.loads(r.stdout), SERVICES)
        r = self.repo.run("--stdin", stdin="services/nosuchservice/src/lib.rs\nservices/x\n")
        self.assertEqual(json.loads(r.stdout), [])

    def test_stdin_checks_existence_at_a_given_head(self):
        self.repo.git("rm", "-r", "-q", "services/adservice")
        self.repo.commit()
        r = self.repo.run("--stdin", "--head", self.repo.base, stdin="services/adservice/src/lib.rs\n")
        self.assertEqual(json.loads(r.stdout), ["adservice"])
        r = self.repo.run("--stdin", "--head", "HEAD", stdin="services/adservice/src/lib.rs\n")
        self.assertEqual(json.loads(r.stdout), [])

    def test_rejects_a_service_name_unsafe_for_a_matrix(self):
        self.repo.write("services/Bad$(id)/Cargo.toml", "[package]\n")
        self.repo.commit()
        r = self.repo.run("--all", "--head", "HEAD")
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("invalid service directory name", r.stderr)


if __name__ == "__main__":
    unittest.main()
