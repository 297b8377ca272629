# The VM driver on libvirt: the vtable and actions, the connection and its event loop,
# overlays and the kernel cache, the watcher, logs and stats, and exec through the guest
# agent. Only these files include libvirt/libvirt.h (and libvirt-qemu.h, for the guest
# agent's commands).
add_library(hd_vm_driver STATIC vm-driver.c vm-conn.c vm-disk.c vm-io.c vm-exec.c)
target_include_directories(hd_vm_driver PUBLIC ${CMAKE_CURRENT_SOURCE_DIR}
  ${CMAKE_CURRENT_SOURCE_DIR}/..)
target_link_libraries(hd_vm_driver PUBLIC hd_vm_xml hd_vm_cloudinit hd_vm_agent hd_images
  hd_api hd_lib PkgConfig::LIBVIRT PkgConfig::LIBVIRT_QEMU Threads::Threads m)
