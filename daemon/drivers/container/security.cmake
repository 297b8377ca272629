# The container's security setup: capabilities, identity, no_new_privs and seccomp.
# hd_ct_security runs in the container's init between fork and exec and links only libc
# (hd_lib is there for hd-error.h in the shared header; the apply path never calls it).
add_library(hd_ct_security STATIC ct-security.c)
target_include_directories(hd_ct_security PUBLIC ${CMAKE_CURRENT_SOURCE_DIR})
target_link_libraries(hd_ct_security PUBLIC hd_lib)

# The default seccomp profile, compiled once in hostd with libseccomp.
add_library(hd_ct_seccomp STATIC ct-seccomp.c)
target_link_libraries(hd_ct_seccomp PUBLIC hd_ct_security hd_lib PRIVATE PkgConfig::SECCOMP)
