# METADATA
# title: 'Every compose service drops all Linux capabilities and adds none'
# description: 'Every compose service drops all Linux capabilities and adds none (compose.yaml policy of this repository; see scripts/image-tests/README.md).'
# custom:
#   id: BRS-C005
#   avd_id: BRS-C005
#   severity: HIGH
#   short_code: drop-capabilities
#   recommended_action: 'Set cap_drop: [ALL] and remove cap_add'
#   input:
#     selector:
#     - type: yaml
package user.compose.brs_c005

import rego.v1

deny contains res if {
	some name, svc in input.services
	not "ALL" in object.get(svc, "cap_drop", [])
	res := result.new(sprintf("service %q: cap_drop does not contain ALL", [name]), {})
}

deny contains res if {
	some name, svc in input.services
	count(object.get(svc, "cap_add", [])) > 0
	res := result.new(sprintf("service %q: adds capabilities %v", [name, svc.cap_add]), {})
}
