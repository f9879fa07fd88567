set -eu
mount -t tmpfs -o mode=0755 tmpfs /opt
mkdir -p /opt/extensions /opt/ric
# Under its own file name: Lambda registers an extension by its file name.
if [ -n "$E2E_EXT" ]; then cp "$E2E_EXT" "/opt/extensions/$(basename "$E2E_EXT")"; fi
if [ -n "$E2E_EXT" ] && [ -n "$E2E_WRAPPER" ]; then cp "$E2E_WRAPPER" /opt/bodytrace-wrapper; fi
if [ -n "$E2E_EXT" ] && [ -n "$E2E_NODE_HELPER" ]; then mkdir -p /opt/bodytrace; cp -r "$E2E_NODE_HELPER" /opt/bodytrace/node; fi
mount --bind "$E2E_RIC" /opt/ric
mount -t tmpfs -o mode=0755 tmpfs /var
mkdir -p /var/task
mount --bind "$E2E_TASK" /var/task
# Lambda's managed Node.js runtimes keep Node in /var/lang and the runtime client in /var/runtime.
if [ -n "$E2E_NODE_DIR" ]; then mkdir -p /var/lang /var/runtime; mount --bind "$E2E_NODE_DIR" /var/lang; mount --bind "$E2E_NODE_RIC" /var/runtime; fi
if [ -n "$E2E_NODE_MODULES" ]; then mount --bind "$E2E_NODE_MODULES" /var/task/node_modules; fi
cd /var/task
if [ -n "$E2E_NOFILE" ]; then ulimit -n "$E2E_NOFILE"; fi
exec "$E2E_RIE" --runtime-interface-emulator-address "127.0.0.1:$E2E_INVOKE_PORT" --runtime-api-address "127.0.0.1:$E2E_API_PORT" "$@"
