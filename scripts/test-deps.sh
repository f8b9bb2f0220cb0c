#!/bin/sh
# Installs what the tests need from Debian (skopeo, podman and buildah, the peer registry, wrk,
# nginx as the round-robin balancer of the two-node upload tests,
# chromium for the portal's browser tests, OpenLDAP's slapd
# and ldap-utils for the LDAP sign-in tests)
# and makes sure PostgreSQL is running.
set -eu
missing=""
for pair in skopeo:skopeo podman:podman buildah:buildah docker-registry:docker-registry wrk:wrk psql:postgresql chromium:chromium slapd:slapd ldapadd:ldap-utils nginx:nginx-light; do
    command -v "${pair%%:*}" >/dev/null 2>&1 || missing="$missing ${pair#*:}"
done
if [ -n "$missing" ]; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing >/dev/null
fi
if ! pg_isready -h 127.0.0.1 -p 5432 -q 2>/dev/null; then
    version=$(ls /etc/postgresql 2>/dev/null | head -n 1)
    if [ -z "$version" ]; then
        echo "PostgreSQL is not installed and could not be started" >&2
        exit 1
    fi
    pg_ctlcluster --skip-systemctl-redirect "$version" main start
    for _ in $(seq 1 30); do pg_isready -h 127.0.0.1 -p 5432 -q && break; sleep 1; done
fi
pg_isready -h 127.0.0.1 -p 5432

# axe-core for the portal's accessibility checks (pinned by tests/e2e/axe/package-lock.json)
if [ ! -f tests/e2e/axe/node_modules/axe-core/axe.min.js ] || [ tests/e2e/axe/package-lock.json -nt tests/e2e/axe/node_modules/.package-lock.json ]; then
    npm ci --prefix tests/e2e/axe --no-audit --no-fund --loglevel=error
fi
