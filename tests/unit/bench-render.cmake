# The benchmark result's renderers: the Markdown report and the SVG chart compared with
# golden files (tests/data/bench; HD_UPDATE_GOLDEN=1 rewrites them), the comparison of
# two runs, and results of the wrong shape.
if(TARGET hd_bench_render)
  hd_unit_test(test-bench-render hd_bench_render)
endif()
