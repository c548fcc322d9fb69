#!/usr/bin/env bash
# Writes the staging stack's secrets into deploy/staging/secrets/ (git-ignored):
# a random password for each staging mailbox (cfp, chair, speaker, reviewer1,
# reviewer2) as Dovecot's users.passwd, and cfp's password alone as
# imap-password for cfpd. Prints the passwords so testers can log in.
# Run once before `docker compose -f deploy/compose.yaml up`; again to rotate.
set -euo pipefail
dir="$(cd "$(dirname "$0")" && pwd)/secrets"
install -d -m 0700 "$dir"
# Compose bind-mounts secret files with their host owner: the containers'
# users (cfpd runs as uid 10001) must be able to read them; the folder
# (0700) keeps other host users out.
umask 022
: >"$dir/users.passwd.new"
for user in cfp chair speaker reviewer1 reviewer2; do
  pw="$(head -c 18 /dev/urandom | base64 | tr -d '/+=')"
  printf '%s:{PLAIN}%s\n' "$user" "$pw" >>"$dir/users.passwd.new"
  if [ "$user" = cfp ]; then printf '%s\n' "$pw" >"$dir/imap-password"; fi
  printf '%-10s %s\n' "$user" "$pw"
done
mv "$dir/users.passwd.new" "$dir/users.passwd"
echo "written to $dir"
