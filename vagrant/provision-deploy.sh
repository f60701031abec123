#!/bin/sh
# Vagrant provision step for Kiln's lab topology: what `kiln lab` gives its hosts.
#  - user `deploy` with passwordless sudo and the key from $KILN_LAB_PUBKEY
#  - the same key authorized for root (key-only: PasswordAuthentication no)
#  - /etc/hosts entries for every lab host ($KILN_LAB_HOSTS: "ip name;ip name;...")
set -eu

if ! id deploy >/dev/null 2>&1; then
  useradd --create-home --shell /bin/bash --groups sudo --comment "Kiln deploy user" deploy
fi
usermod --password '*' deploy
printf 'deploy ALL=(ALL:ALL) NOPASSWD: ALL\n' > /etc/sudoers.d/90-kiln-deploy
chmod 0440 /etc/sudoers.d/90-kiln-deploy
visudo -cf /etc/sudoers.d/90-kiln-deploy >/dev/null

authorize() { # home user
  install -d -m 700 -o "$2" -g "$2" "$1/.ssh"
  touch "$1/.ssh/authorized_keys"
  grep -qxF "$KILN_LAB_PUBKEY" "$1/.ssh/authorized_keys" || printf '%s\n' "$KILN_LAB_PUBKEY" >> "$1/.ssh/authorized_keys"
  chown "$2:$2" "$1/.ssh/authorized_keys"
  chmod 600 "$1/.ssh/authorized_keys"
}
if [ -n "${KILN_LAB_PUBKEY:-}" ]; then
  authorize /home/deploy deploy
  authorize /root root
else
  echo "kiln: KILN_LAB_PUBKEY is empty: deploy has no authorized key" >&2
fi

mkdir -p /etc/ssh/sshd_config.d
printf 'PasswordAuthentication no\nPermitRootLogin prohibit-password\n' > /etc/ssh/sshd_config.d/50-kiln-lab.conf
systemctl reload ssh

sed -i '/^# BEGIN kiln-lab hosts$/,/^# END kiln-lab hosts$/d' /etc/hosts
{
  echo '# BEGIN kiln-lab hosts'
  echo "${KILN_LAB_HOSTS:-}" | tr ';' '\n' | sed '/^$/d'
  echo '# END kiln-lab hosts'
} >> /etc/hosts
