# The VM driver's pure parts: golden domain XML (tests/data/vm-xml) and the seed ISO
# (skipped when neither xorriso nor genisoimage is installed); the guest agent's exec
# protocol.
if(TARGET hd_vm_xml)
  hd_unit_test(test-vm-xml hd_vm_xml)
endif()
if(TARGET hd_vm_cloudinit)
  hd_unit_test(test-vm-cloudinit hd_vm_cloudinit)
endif()
if(TARGET hd_vm_agent)
  hd_unit_test(test-vm-agent hd_vm_agent)
endif()
