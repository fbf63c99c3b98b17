# METADATA
# title: 'Every compose service sets no-new-privileges'
# description: 'Every compose service sets no-new-privileges (compose.yaml policy of this repository; see scripts/image-tests/README.md).'
# custom:
#   id: BRS-C006
#   avd_id: BRS-C006
#   severity: HIGH
#   short_code: no-new-privileges
#   recommended_action: 'Add "no-new-privileges:true" to security_opt'
#   input:
#     selector:
#     - type: yaml
package user.compose.brs_c006

import rego.v1

deny contains res if {
	some name, svc in input.services
	not "no-new-privileges:true" in object.get(svc, "security_opt", [])
	res := result.new(sprintf("service %q: security_opt lacks no-new-privileges:true", [name]), {})
}
