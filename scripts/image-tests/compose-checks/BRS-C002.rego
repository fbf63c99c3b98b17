# METADATA
# title: 'Every compose service runs as an explicit non-root numeric user'
# description: 'Every compose service runs as an explicit non-root numeric user (compose.yaml policy of this repository; see scripts/image-tests/README.md).'
# custom:
#   id: BRS-C002
#   avd_id: BRS-C002
#   severity: HIGH
#   short_code: non-root-user
#   recommended_action: 'Set user: "65532:65532" (or the image''s non-root uid:gid)'
#   input:
#     selector:
#     - type: yaml
package user.compose.brs_c002

import rego.v1

root_user(u) if {
	uid := split(sprintf("%v", [u]), ":")[0]
	uid in {"", "0", "root"}
}

deny contains res if {
	some name, svc in input.services
	not svc.user
	res := result.new(sprintf("service %q: no user set (images may default to root)", [name]), {})
}

deny contains res if {
	some name, svc in input.services
	root_user(svc.user)
	res := result.new(sprintf("service %q: runs as root (user %v)", [name, svc.user]), {})
}

deny contains res if {
	some name, svc in input.services
	u := sprintf("%v", [svc.user])
	not regex.match(`^[0-9]+(:[0-9]+)?$`, u)
	res := result.new(sprintf("service %q: user %q is not numeric (scratch images have no /etc/passwd)", [name, u]), {})
}
