# SPDX-License-Identifier: Apache-2.0
# What `cmake --install` lays down besides the programs (suwrap(8)): the example
# configuration (never over an existing one), accounts.d, the log directories, the
# systemd units and the logrotate snippet. Paths under /etc and /var follow the
# compiled-in SUWRAP_CONFIG, not the install prefix, since suwrap reads only that path.

get_filename_component(SUWRAP_CONFIG_DIR "${SUWRAP_CONFIG}" DIRECTORY)
set(SUWRAP_SYSTEMD_DIR "lib/systemd/system" CACHE STRING "Where the systemd units go, under the prefix")
option(SUWRAP_INSTALL_SYSTEM_FILES "Install /var/log/suwrap* and /etc/logrotate.d/suwrap" ON)

# suwrap-gate beside suwrap, where suwrap --pool runs it from (SUWRAP_GATE_PATH): mode
# 0711, owned by whoever installs (root), never set-uid — it runs as an account user. Not
# readable by the account: the kernel then makes the gate undumpable from its exec on, so
# the account's own processes cannot ptrace it while it starts (suwrap refuses otherwise).
if(TARGET suwrap-gate)
  install(TARGETS suwrap-gate RUNTIME DESTINATION lib/suwrap
          PERMISSIONS OWNER_READ OWNER_WRITE OWNER_EXECUTE GROUP_EXECUTE WORLD_EXECUTE)
endif()

install(FILES install/systemd/suwrap-cgid.socket install/systemd/suwrap-cgid.service
        DESTINATION "${SUWRAP_SYSTEMD_DIR}")
install(FILES README.md docs/SECURITY.md docs/ARCHITECTURE.md
        DESTINATION "${CMAKE_INSTALL_DATADIR}/doc/suwrap" OPTIONAL)
install(FILES install/suwrap.toml.example DESTINATION "${CMAKE_INSTALL_DATADIR}/doc/suwrap")
# The web server snippets the deployment pages show and the tests use.
install(DIRECTORY install/webservers/ DESTINATION "${CMAKE_INSTALL_DATADIR}/doc/suwrap/webservers")
install(FILES docs/deploy-nginx.md docs/deploy-apache.md docs/deploy-lighttpd.md docs/deploy-caddy.md
        docs/hosting-panels.md docs/warm-mode.md docs/refusals.md docs/from-php-fpm.md docs/systemd-service.md
        DESTINATION "${CMAKE_INSTALL_DATADIR}/doc/suwrap" OPTIONAL)

if(SUWRAP_INSTALL_SYSTEM_FILES)
  set(_suwrap_system_files 1)
else()
  set(_suwrap_system_files 0)
endif()

install(CODE "
  set(_dest \"\$ENV{DESTDIR}\")
  set(_config \"\${_dest}${SUWRAP_CONFIG}\")
  set(_config_dir \"\${_dest}${SUWRAP_CONFIG_DIR}\")
  file(MAKE_DIRECTORY \"\${_config_dir}/accounts.d\")
  if(EXISTS \"\${_config}\")
    message(STATUS \"Keeping the existing \${_config}\")
  else()
    file(COPY_FILE \"${PROJECT_SOURCE_DIR}/install/suwrap.toml.example\" \"\${_config}\")
    file(CHMOD \"\${_config}\" PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ WORLD_READ)
    message(STATUS \"Installing: \${_config}\")
  endif()
  file(CHMOD \"\${_config_dir}\" \"\${_config_dir}/accounts.d\" PERMISSIONS
       OWNER_READ OWNER_WRITE OWNER_EXECUTE GROUP_READ GROUP_EXECUTE WORLD_READ WORLD_EXECUTE)
  execute_process(COMMAND id -u OUTPUT_VARIABLE _uid OUTPUT_STRIP_TRAILING_WHITESPACE)
  if(_uid STREQUAL \"0\")
    execute_process(COMMAND chown -R root:root \"\${_config_dir}\")
  endif()
  if(${_suwrap_system_files} EQUAL 1)
  file(MAKE_DIRECTORY \"\${_dest}/var/log/suwrap\" \"\${_dest}/var/log/suwrap-cgid\")
  file(MAKE_DIRECTORY \"\${_dest}/etc/logrotate.d\")
  file(COPY_FILE \"${PROJECT_SOURCE_DIR}/install/logrotate.suwrap\" \"\${_dest}/etc/logrotate.d/suwrap\")
  if(_uid STREQUAL \"0\")
    # The decision log is root's; the daemon's log directory is the web server user's.
    execute_process(COMMAND chown root:adm \"\${_dest}/var/log/suwrap\")
    execute_process(COMMAND chmod 0750 \"\${_dest}/var/log/suwrap\")
    execute_process(COMMAND chown ${SUWRAP_CALLER_GROUP}:adm \"\${_dest}/var/log/suwrap-cgid\")
    execute_process(COMMAND chmod 0750 \"\${_dest}/var/log/suwrap-cgid\")
  endif()
  endif()
")

# The Debian package is built from debian/ with dpkg-buildpackage -us -uc -b.
