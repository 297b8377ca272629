# The firewall side of networking: hostd's nftables table (NAT, port forwards,
# isolation) through libnftables, and one dnsmasq per network (DHCP, DNS), run as a
# daemon of its own. Neither shells out to a tool other than dnsmasq itself.
add_library(hd_net_fw STATIC net-nft.c net-dnsmasq.c)
target_include_directories(hd_net_fw PUBLIC ${CMAKE_CURRENT_SOURCE_DIR})
target_link_libraries(hd_net_fw PUBLIC hd_api hd_lib PkgConfig::NFTABLES)
