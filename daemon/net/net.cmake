# The manager that keeps the host's networks matching the inventory (net.h).
if(TARGET hd_netlink AND TARGET hd_net_fw)
  add_library(hd_net STATIC net.c)
  target_include_directories(hd_net PUBLIC ${CMAKE_CURRENT_SOURCE_DIR})
  target_link_libraries(hd_net PUBLIC hd_netlink hd_net_fw hd_store hd_lib Threads::Threads)
endif()
