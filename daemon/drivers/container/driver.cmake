# hostd's side of the container runtime: the driver vtable, bundles and the watcher.
if(TARGET hostd-monitor)
  add_library(hd_ct_driver STATIC ct-driver.c ct-driver-spawn.c ct-driver-io.c)
  target_include_directories(hd_ct_driver PUBLIC ${CMAKE_CURRENT_SOURCE_DIR}
    ${CMAKE_CURRENT_SOURCE_DIR}/..)
  target_link_libraries(hd_ct_driver PUBLIC hd_ct_bundle hd_ct_cgroup hd_ct_seccomp hd_images
    hd_api hd_lib Threads::Threads)
  # hostd finds the monitor beside itself (or in ../libexec/hostd once installed).
  set_target_properties(hostd-monitor PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/daemon)
endif()
