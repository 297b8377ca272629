# Links over rtnetlink (libmnl): bridges and veth pairs. hostd and hostd-monitor both
# link it, so it depends on libmnl and hd_lib only.
add_library(hd_netlink STATIC net-link.c)
target_include_directories(hd_netlink PUBLIC ${CMAKE_CURRENT_SOURCE_DIR})
target_link_libraries(hd_netlink PUBLIC hd_lib PkgConfig::MNL)
