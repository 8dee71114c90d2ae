#!/usr/bin/env bash
# Runs as root, last, on the build instance: nothing instance-specific and no
# credential may end up in the image.
set -euo pipefail

: "${STAGING_DIR:?}"

rm -rf "$STAGING_DIR"
dnf clean all -q

# No SSH keys baked in: Packer's temporary key goes, and every instance makes
# its own host keys on first boot.
rm -f /home/ec2-user/.ssh/authorized_keys /root/.ssh/authorized_keys
rm -f /etc/ssh/ssh_host_*

# A fresh identity and a fresh cloud-init run for every instance.
cloud-init clean --logs
truncate -s 0 /etc/machine-id
rm -f /root/.bash_history /home/ec2-user/.bash_history
