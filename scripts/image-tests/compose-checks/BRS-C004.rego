# METADATA
# title: 'Every compose service has a health check in exec form (no shell needed)'
# description: 'Every compose service has a health check in exec form (no shell needed) (compose.yaml policy of this repository; see scripts/image-tests/README.md).'
# custom:
#   id: BRS-C004
#   avd_id: BRS-C004
#   severity: HIGH
#   short_code: shell-less-healthcheck
#   recommended_action: 'Set healthcheck.test: ["CMD", "/app/<service>", "healthcheck"]'
#   input:
#     selector:
#     - type: yaml
package user.compose.brs_c004

import rego.v1

# A service with nothing to probe (a client without a port) says why in
# `x-no-healthcheck: "<reason>"`.
exempt(svc) if {
	is_string(svc["x-no-healthcheck"])
	count(trim_space(svc["x-no-healthcheck"])) > 0
	not svc.healthcheck
}

deny contains res if {
	some name, svc in input.services
	not svc.healthcheck
	not exempt(svc)
	res := result.new(sprintf("service %q: no healthcheck (and no x-no-healthcheck reason)", [name]), {})
}

deny contains res if {
	some name, svc in input.services
	svc.healthcheck.disable == true
	res := result.new(sprintf("service %q: healthcheck disabled", [name]), {})
}

deny contains res if {
	some name, svc in input.services
	svc.healthcheck
	not svc.healthcheck.disable == true
	not exec_form(svc.healthcheck.test)
	res := result.new(sprintf("service %q: healthcheck.test must be a list starting with \"CMD\" (got %v)", [name, svc.healthcheck.test]), {})
}

exec_form(t) if {
	is_array(t)
	count(t) > 1
	t[0] == "CMD"
}
