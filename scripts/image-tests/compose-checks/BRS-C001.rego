# METADATA
# title: 'Every compose service has a read-only root filesystem'
# description: 'Every compose service has a read-only root filesystem (compose.yaml policy of this repository; see scripts/image-tests/README.md).'
# custom:
#   id: BRS-C001
#   avd_id: BRS-C001
#   severity: HIGH
#   short_code: read-only-rootfs
#   recommended_action: 'Set read_only: true'
#   input:
#     selector:
#     - type: yaml
package user.compose.brs_c001

import rego.v1

deny contains res if {
	some name, svc in input.services
	not svc.read_only == true
	res := result.new(sprintf("service %q: read_only is not true", [name]), {})
}
