# METADATA
# title: 'Published ports bind to loopback by default'
# description: 'Published ports bind to loopback by default (compose.yaml policy of this repository; see scripts/image-tests/README.md).'
# custom:
#   id: BRS-C009
#   avd_id: BRS-C009
#   severity: HIGH
#   short_code: loopback-ports
#   recommended_action: 'Publish as "127.0.0.1:<host>:<container>"'
#   input:
#     selector:
#     - type: yaml
package user.compose.brs_c009

import rego.v1

loopback(p) if {
	is_string(p)
	startswith(p, "127.0.0.1:")
}

loopback(p) if {
	is_object(p)
	p.host_ip == "127.0.0.1"
}

deny contains res if {
	some name, svc in input.services
	some p in object.get(svc, "ports", [])
	not loopback(p)
	res := result.new(sprintf("service %q: port %v is published on every interface", [name, p]), {})
}
