# hostd-monitor: the per-container runtime + monitor (one process per container,
# outliving hostd; it makes a bridged container's veth pair with hd_netlink), and
# hd_ct_bundle, the bundle files and CRI logs that hostd and the monitor share
# (jansson + hd_lib only).
add_library(hd_ct_bundle STATIC ct-bundle.c ct-log.c)
target_include_directories(hd_ct_bundle PUBLIC ${CMAKE_CURRENT_SOURCE_DIR})
target_link_libraries(hd_ct_bundle PUBLIC hd_lib PkgConfig::JANSSON)

if(TARGET hd_ct_cgroup AND TARGET hd_ct_security)
  add_executable(hostd-monitor ct-monitor.c ct-init.c ct-rootfs.c ct-idmap.c)
  target_link_libraries(hostd-monitor PRIVATE hd_ct_bundle hd_ct_cgroup hd_ct_security hd_netlink
    hd_lib)
  target_compile_definitions(hostd-monitor PRIVATE HD_VERSION="${PROJECT_VERSION}")
  install(TARGETS hostd-monitor RUNTIME DESTINATION libexec/hostd)
else()
  message(STATUS "hostd-monitor: hd_ct_cgroup or hd_ct_security missing, not built")
endif()
