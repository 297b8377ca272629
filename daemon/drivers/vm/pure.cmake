# The VM driver's pure parts, no libvirt: the domain XML and the cloud-init seed ISO.
add_library(hd_vm_xml STATIC vm-xml.c)
target_include_directories(hd_vm_xml PUBLIC ${CMAKE_CURRENT_SOURCE_DIR})
target_link_libraries(hd_vm_xml PUBLIC hd_lib)

# Runs xorriso (or genisoimage) at run time; neither is needed to build.
add_library(hd_vm_cloudinit STATIC vm-cloudinit.c)
target_include_directories(hd_vm_cloudinit PUBLIC ${CMAKE_CURRENT_SOURCE_DIR})
target_link_libraries(hd_vm_cloudinit PUBLIC hd_lib)

# exec's guest agent protocol (guest-exec, guest-exec-status) as JSON.
add_library(hd_vm_agent STATIC vm-agent.c)
target_include_directories(hd_vm_agent PUBLIC ${CMAKE_CURRENT_SOURCE_DIR})
target_link_libraries(hd_vm_agent PUBLIC hd_api hd_lib)

