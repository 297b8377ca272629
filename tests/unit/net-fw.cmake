# Networking's firewall parts: golden nft scripts (tests/data/nft), and as root, each in
# a private network namespace of a forked child so the host's rules and interfaces are
# never touched, the table applied, replaced and deleted, port forwards carrying real
# traffic, and a real dnsmasq answering DNS for its hosts. Without root those cases say
# SKIP and pass.
if(TARGET hd_net_fw)
  hd_unit_test(test-net-nft hd_net_fw)
  hd_unit_test(test-net-dnsmasq hd_net_fw)
  # libnftables' own valgrind findings (tests/data/nft/libnftables.supp); the
  # environment is hd_unit_test's plus the suppressions.
  foreach(t test-net-nft test-net-dnsmasq)
    if(HD_VALGRIND_TESTS AND TARGET ${t})
      set_tests_properties(valgrind/${t} PROPERTIES ENVIRONMENT
        "CK_FORK=no;CK_DEFAULT_TIMEOUT=120;VALGRIND_OPTS=--suppressions=${PROJECT_SOURCE_DIR}/tests/data/nft/libnftables.supp")
    endif()
  endforeach()
endif()
