# Sourced by the image scripts: podman settings this kind of host needs (see the README's "Install" section).
# - runc as the runtime (crun refuses hybrid cgroups here), set through containers.conf;
# - default_ulimits = [] (else setrlimit is refused when a container starts);
# - PLOTPOINTE_CA_MOUNT: the host's CA bundle mounted into builds, so npm/apt reach the registry through a proxy
#   with its own CA.
# A containers.conf the caller already points CONTAINERS_CONF at is kept.
if [ -z "${CONTAINERS_CONF:-}" ]; then
  _pp_conf_dir="${PLOTPOINTE_IMAGE_CACHE:-/var/cache/plotpointe}"
  mkdir -p "$_pp_conf_dir"
  cat > "$_pp_conf_dir/containers.conf" <<'EOF'
[containers]
default_ulimits = []

[engine]
runtime = "runc"
EOF
  export CONTAINERS_CONF="$_pp_conf_dir/containers.conf"
fi
PLOTPOINTE_CA_MOUNT=()
if [ -d /etc/ssl/certs ]; then
  PLOTPOINTE_CA_MOUNT=(-v /etc/ssl/certs:/etc/ssl/certs:ro)
fi
