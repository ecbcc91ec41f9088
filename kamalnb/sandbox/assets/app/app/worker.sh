#!/bin/sh
# Exit at once on SIGTERM: see web.sh.
trap 'exit 0' TERM INT
n=0
while :; do
  n=$((n + 1))
  echo "worker ${KAMAL_VERSION:-dev} tick $n"
  sleep 1 &
  wait $!
done
