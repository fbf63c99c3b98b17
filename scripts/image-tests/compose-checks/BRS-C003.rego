# METADATA
# title: 'Every compose service has a memory limit'
# description: 'Every compose service has a memory limit (compose.yaml policy of this repository; see scripts/image-tests/README.md).'
# custom:
#   id: BRS-C003
#   avd_id: BRS-C003
#   severity: HIGH
#   short_code: memory-limit
#   recommended_action: 'Set deploy.resources.limits.memory'
#   input:
#     selector:
#     - type: yaml
package user.compose.brs_c003

import rego.v1

has_limit(svc) if svc.deploy.resources.limits.memory

has_limit(svc) if svc.mem_limit

deny contains res if {
	some name, svc in input.services
	not has_limit(svc)
	res := result.new(sprintf("service %q: no memory limit", [name]), {})
}
