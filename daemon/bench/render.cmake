# The benchmark result's renderers (Markdown report, SVG chart, comparison of two
# runs): pure functions of the result JSON, no daemon state, so the tests and the
# HTTP handlers link the same library.
add_library(hd_bench_render STATIC bench-render.c bench-render-md.c bench-render-svg.c)
target_include_directories(hd_bench_render PUBLIC ${CMAKE_CURRENT_SOURCE_DIR})
target_link_libraries(hd_bench_render PUBLIC hd_lib PkgConfig::JANSSON)
