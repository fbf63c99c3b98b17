"""Tests of the readers behind consistency.py: bake targets and chart service keys."""

from __future__ import annotations

import tempfile
import unittest
from pathlib import Path

from service_sources import bake_targets, chart_services


def write(text: str, name: str) -> Path:
    d = Path(tempfile.mkdtemp(prefix="service-sources-"))
    p = d / name
    p.write_text(text)
    return p


class BakeTargets(unittest.TestCase):
    def test_default_group_with_nested_group_and_helper_targets(self):
        hcl = '''
        # a comment with a brace {
        variable "REGISTRY" { default = "ghcr.io/boutique-rs/online-boutique" }
        variable "TAG" { default = "dev" }
        group "default" { targets = ["backends", "frontend"] }
        group "backends" {
          targets = [
            "adservice", // the ad service
            "cartservice",
          ]
        }
        target "_common" {
          dockerfile = "Dockerfile"
          args = { PROFILE = "release" }
        }
        /* target "ghost" { } */
        target "adservice" {
          inherits = ["_common"]
          target = "adservice"
          tags = ["${REGISTRY}/adservice:${TAG}"]
        }
        target "cartservice" { inherits = ["_common"] }
        target "frontend" {
          inherits = ["_common"]
          labels = { "org.opencontainers.image.title" = "frontend}" }
        }
        target "lint" { target = "lint" }
        '''
        self.assertEqual(bake_targets(write(hcl, "docker-bake.hcl")),
                         ["adservice", "cartservice", "frontend"])

    def test_without_default_group_every_public_target_counts(self):
        hcl = '''
        target "_base" { context = "." }
        target "adservice" { inherits = ["_base"] }
        target "emailservice" { inherits = ["_base"] }
        '''
        self.assertEqual(bake_targets(write(hcl, "docker-bake.hcl")), ["adservice", "emailservice"])

    def test_matrix_target_expands_to_its_names(self):
        hcl = '''
        variable "SERVICES" { default = ["unused"] }
        group "default" { targets = ["service"] }
        target "service" {
          name = "${svc}"
          matrix = {
            svc = ["adservice", "frontend", "shippingservice"]
          }
          args = { SERVICE = svc }
          tags = ["r/${svc}:t"]
        }
        '''
        self.assertEqual(bake_targets(write(hcl, "docker-bake.hcl")),
                         ["adservice", "frontend", "shippingservice"])

    def test_matrix_with_bare_name_and_prefix(self):
        hcl = '''
        target "svc" {
          name = s
          matrix = { s = ["a", "b"] }
        }
        target "img" {
          name = "img-${s}"
          matrix = { "s" = ["x"] }
        }
        '''
        self.assertEqual(bake_targets(write(hcl, "docker-bake.hcl")), ["a", "b", "img-x"])


class ChartServices(unittest.TestCase):
    def test_keys_with_a_per_service_image_override(self):
        values = '''
images: {repository: r, tag: ""}
opentelemetryCollector: {create: false, image: "otel/collector:1"}
adService: {create: true, name: adservice, image: {repository: "", tag: ""}}
productCatalogService: {create: true, image: {repository: "", tag: ""}}
loadGenerator: {create: true, image: {repository: "", tag: ""}, users: 10}
shoppingAssistantService: {create: false, name: shoppingassistantservice}
cartDatabase: {type: redis}
'''
        self.assertEqual(chart_services(write(values, "values.yaml")),
                         ["adservice", "loadgenerator", "productcatalogservice"])


if __name__ == "__main__":
    unittest.main()
