# METADATA
# title: 'Third-party images are pinned by digest'
# description: 'Third-party images are pinned by digest (compose.yaml policy of this repository; see scripts/image-tests/README.md).'
# custom:
#   id: BRS-C007
#   avd_id: BRS-C007
#   severity: HIGH
#   short_code: pinned-images
#   recommended_action: 'Use image: name:tag@sha256:<digest>; only this project''s images (${REGISTRY...}/<service>:${TAG...}) go by tag'
#   input:
#     selector:
#     - type: yaml
package user.compose.brs_c007

import rego.v1

own_image(img) if startswith(img, "${REGISTRY")

deny contains res if {
	some name, svc in input.services
	not svc.image
	res := result.new(sprintf("service %q: no image", [name]), {})
}

deny contains res if {
	some name, svc in input.services
	img := svc.image
	not own_image(img)
	not regex.match(`@sha256:[0-9a-f]{64}$`, img)
	res := result.new(sprintf("service %q: image %q is not pinned by digest", [name, img]), {})
}
