# Real VMs through the API: root, libvirt's embedded QEMU driver, qemu-system-x86_64 (TCG
# where there is no usable KVM) and the tiny kernel bundle (the images/tiny-vm fixture,
# packaging/images/build-tiny-vm.sh). Skipped (77) without root or the bundle.
hd_integration_test(test-vms)
target_link_libraries(test-vms PRIVATE hd_itest_calls)
target_compile_definitions(test-vms PRIVATE HD_TEST_IMAGES_DIR="${CMAKE_BINARY_DIR}/images")
set_tests_properties(integration/test-vms PROPERTIES
  FIXTURES_REQUIRED tiny-vm SKIP_RETURN_CODE 77 RUN_SERIAL TRUE TIMEOUT 900)
