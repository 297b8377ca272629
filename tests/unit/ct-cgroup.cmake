# The container driver's cgroups. Runs as root against the host's real hierarchies
# (v1/hybrid or v2); the cases a host cannot run say why and pass.
if(TARGET hd_ct_cgroup)
  hd_unit_test(test-ct-cgroup hd_ct_cgroup)
  if(TARGET test-ct-cgroup)
    # Only libc, libm and libsubunit at run time (libcheck is static; hd_lib's jansson
    # is not used here), so that the binary can be copied to another host to run there.
    target_link_options(test-ct-cgroup PRIVATE -Wl,--as-needed)
  endif()

  # -DHD_CT_CGROUP_STATIC_TEST=ON: test-ct-cgroup-static, one static executable with no
  # run-time dependency at all, for hosts without check installed (built from the
  # sources, since hd_lib carries jansson's shared library with it).
  option(HD_CT_CGROUP_STATIC_TEST "Also build a static test-ct-cgroup-static" OFF)
  if(HD_CT_CGROUP_STATIC_TEST AND HD_TESTS)
    set(ct_dir ${PROJECT_SOURCE_DIR}/daemon/drivers/container)
    add_executable(test-ct-cgroup-static test-ct-cgroup.c
      ${ct_dir}/ct-cgroup.c ${ct_dir}/ct-cgroup-fs.c ${ct_dir}/ct-cgroup-v1.c
      ${ct_dir}/ct-cgroup-v2.c ${ct_dir}/ct-cgroup-bpf.c
      ${PROJECT_SOURCE_DIR}/lib/hd-error.c ${PROJECT_SOURCE_DIR}/lib/hd-util.c)
    target_include_directories(test-ct-cgroup-static PRIVATE ${ct_dir} ${PROJECT_SOURCE_DIR}/lib
      ${CHECK_INCLUDE_DIRS})
    target_link_options(test-ct-cgroup-static PRIVATE -static)
    target_link_libraries(test-ct-cgroup-static PRIVATE ${CHECK_STATIC_LIBRARIES})
  endif()
endif()
