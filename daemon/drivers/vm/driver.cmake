# The VM driver on libvirt: the vtable and actions, the connection and its event loop,
# overlays and the kernel cache, the watcher, logs and stats. Only these files include
# libvirt/libvirt.h (and libvirt-qemu.h, for the guest agent's ping).
add_library(hd_vm_driver STATIC vm-driver.c vm-conn.c vm-disk.c vm-io.c)
target_include_directories(hd_vm_driver PUBLIC ${CMAKE_CURRENT_SOURCE_DIR}
  ${CMAKE_CURRENT_SOURCE_DIR}/..)
target_link_libraries(hd_vm_driver PUBLIC hd_vm_xml hd_vm_cloudinit hd_images hd_api hd_lib PkgConfig::LIBVIRT
  PkgConfig::LIBVIRT_QEMU Threads::Threads m)
