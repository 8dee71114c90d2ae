#!/usr/bin/env bash
# Runs as root, last, on the build instance: nothing instance-specific and no
# credential may end up in the image.
set -euo pipefail

: "${STAGING_DIR:?}"

rm -rf "$STAGING_DIR"
dnf clean all -q

# No SSH in the image: instances are reached through Session Manager only.
# sshd is disabled and masked (this build's own session keeps running until
# Packer stops the instance); Packer's temporary key and the host keys go too.
systemctl disable --quiet sshd.service
systemctl mask --quiet sshd.service
rm -f /home/ec2-user/.ssh/authorized_keys /root/.ssh/authorized_keys
rm -f /etc/ssh/ssh_host_*

# A fresh identity and a fresh cloud-init run for every instance.
cloud-init clean --logs
truncate -s 0 /etc/machine-id
rm -f /root/.bash_history /home/ec2-user/.bash_history
