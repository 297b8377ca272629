# cgroups for containers: v1/hybrid hierarchies and pure v2 with its eBPF device program.
# libc only (no jansson, no SQLite, no libbpf): the per-container monitor links it too.
add_library(hd_ct_cgroup STATIC ct-cgroup.c ct-cgroup-fs.c ct-cgroup-v1.c ct-cgroup-v2.c ct-cgroup-bpf.c)
target_include_directories(hd_ct_cgroup PUBLIC ${CMAKE_CURRENT_SOURCE_DIR})
target_link_libraries(hd_ct_cgroup PUBLIC hd_lib)
