# hostd-monitor's shared library: the bundle files and the CRI log writer/readers.
hd_unit_test(test-ct-bundle hd_ct_bundle)
hd_unit_test(test-ct-log hd_ct_bundle)
