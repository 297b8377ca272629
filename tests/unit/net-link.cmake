# net-link.c against the kernel: bridges and veth pairs, in a network namespace of the
# test's own. Needs root; skips (77) without it. Label "root" too.
if(TARGET hd_netlink)
  hd_unit_test(test-net-link hd_netlink)
  if(TARGET test-net-link)
    set_tests_properties(unit/test-net-link PROPERTIES LABELS "unit;root" SKIP_RETURN_CODE 77)
  endif()
endif()
