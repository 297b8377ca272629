# The container's security setup: the seccomp profile, and its application in a
# throwaway pid namespace (the probes refuse to run unless they are its pid 1).
if(TARGET hd_ct_seccomp)
  hd_unit_test(test-ct-security hd_ct_seccomp)
endif()
