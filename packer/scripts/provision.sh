#!/usr/bin/env bash
# Runs as root on the Amazon Linux 2023 build instance. Installs the Node.js
# runtime, the service bundle under /opt/chat, its user, unit, kernel settings
# and the CloudWatch agent with its configuration template.
#   STAGING_DIR     where Packer uploaded the bundle and packer/files/
#   BUNDLE_SHA256   checksum the uploaded bundle must have
#   NODE_MAJOR      Node.js major version (distribution package nodejs<major>)
set -euo pipefail

: "${STAGING_DIR:?}" "${BUNDLE_SHA256:?}" "${NODE_MAJOR:?}"
readonly install_dir=/opt/chat
readonly bundle="$STAGING_DIR/chat-service.tar.gz"
readonly node_bin="/usr/bin/node-$NODE_MAJOR"

log() { printf '[provision] %s\n' "$*"; }

log "checking the bundle"
printf '%s  %s\n' "$BUNDLE_SHA256" "$bundle" | sha256sum --check --strict -

log "installing Node.js $NODE_MAJOR, the CloudWatch agent and logrotate"
dnf install -y -q "nodejs$NODE_MAJOR" amazon-cloudwatch-agent logrotate
node_version="$("$node_bin" --version)"
if [[ "$node_version" != "v$NODE_MAJOR."* ]]; then
  log "expected Node.js $NODE_MAJOR, $node_bin is $node_version"
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
install -m 0644 "$STAGING_DIR/cloudwatch-agent.json" "$install_dir/cloudwatch-agent.json"

log "checking that the production dependencies load"
(cd "$install_dir" && "$node_bin" --input-type=module -e "await import('ws'); await import('ioredis'); await import('pino');")

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

bundle_version="$(cd "$install_dir" && "$node_bin" -p "require('./package.json').version")"
log "done: chat service $bundle_version on Node.js $node_version"
