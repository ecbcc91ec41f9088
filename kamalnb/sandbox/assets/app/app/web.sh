#!/bin/sh
# PID 1 in the container: busybox ignores SIGTERM as PID 1 unless we trap it,
# and every `docker stop` would then wait its full timeout.
trap 'kill "$httpd" 2>/dev/null; exit 0' TERM INT

assets=$(cd /app/assets && ls)
{
  echo "<!doctype html><html><head><title>sample ${KAMAL_VERSION:-dev}</title>"
  for asset in $assets; do echo "<link rel=stylesheet href=/assets/$asset>"; done
  echo "</head><body><h1>sample app</h1>"
  echo "<p id=version>${KAMAL_VERSION:-dev}</p>"
  echo "<p id=container>${KAMAL_CONTAINER_NAME:-}</p></body></html>"
} > /www/index.html
echo "${KAMAL_VERSION:-dev}" > /www/version

echo "sample web ${KAMAL_VERSION:-dev} started on ${KAMAL_HOST:-unknown}"
httpd -f -p 80 -h /www &
httpd=$!

if [ "$NEVER_HEALTHY" != 1 ]; then
  sleep "${START_DELAY:-0}" &
  wait $!
  echo ok > /www/up
fi
wait "$httpd"
