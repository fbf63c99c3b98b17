# METADATA
# title: 'No compose service is privileged or shares the host''s namespaces or Docker socket'
# description: 'No compose service is privileged or shares the host''s namespaces or Docker socket (compose.yaml policy of this repository; see scripts/image-tests/README.md).'
# custom:
#   id: BRS-C008
#   avd_id: BRS-C008
#   severity: HIGH
#   short_code: no-host-privileges
#   recommended_action: 'Remove privileged, network_mode/pid/ipc/userns_mode: host and docker.sock mounts'
#   input:
#     selector:
#     - type: yaml
package user.compose.brs_c008

import rego.v1

deny contains res if {
	some name, svc in input.services
	svc.privileged == true
	res := result.new(sprintf("service %q: privileged", [name]), {})
}

deny contains res if {
	some name, svc in input.services
	some key in ["network_mode", "pid", "ipc", "userns_mode", "uts"]
	svc[key] == "host"
	res := result.new(sprintf("service %q: %s: host", [name, key]), {})
}

deny contains res if {
	some name, svc in input.services
	some v in object.get(svc, "volumes", [])
	contains(sprintf("%v", [v]), "docker.sock")
	res := result.new(sprintf("service %q: mounts the Docker socket", [name]), {})
}
